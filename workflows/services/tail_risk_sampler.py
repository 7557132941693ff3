"""Quantum tail-risk sampling: a one-factor loss model loaded into a circuit and sampled.

The pattern of quantum credit-risk analysis (Egger et al., 2019; Qiskit Finance): a latent
"market stress" qubit and one qubit per asset whose |1> means "this asset has a tail day"; the
asset qubits are rotated conditionally on the stress qubit, so tail events are correlated.
Sampling the circuit gives joint loss scenarios; their loss distribution gives a VaR to set
beside the classical historical one. Under wfop the backend is the local state-vector simulator
of ``quantum_service`` (the IBM token is checked for shape, as there); standard library only.

Parameters (the node's input mapping; see workflows/portfolio-risk.json):

* ``series``: ``[[closes of asset 1, oldest first], ...]`` (at least 3 closes, all the same length)
* ``symbols``: one name per series, in the same order
* ``weights``: one per series, summing to 1
* ``ibm_token``: ``SecretValue``; shapes accepted as in ``quantum_service``
* ``threshold``: a daily return below it is a tail day (default -0.02, between -1 and 0)
* ``confidence``: VaR confidence (default 0.95); ``notional``: portfolio value (default 1)
* ``shots`` (default 4096) and ``seed`` (default: fresh, echoed back)

Model, from the daily simple returns r[i,t]: a stress day is a day whose equal-weighted return
is below ``threshold``; p_stress is their share; for asset i, p_calm[i] and p_stress[i] are its
shares of tail days on calm and on stress days; its loss given a tail day L[i] is minus its mean
return on its tail days. Circuit (qubit 0 = stress, qubit i+1 = symbols[i]):
``ry(2 asin(sqrt(p_stress)))`` on 0, then per asset ``x 0; cry(theta(p_calm[i])) 0 -> i+1; x 0;
cry(theta(p_stress[i])) 0 -> i+1``. A sampled outcome's portfolio loss is the sum of w[i] * L[i]
over the assets whose bit is 1. Bitstrings follow Qiskit: qubit 0 (the stress factor) is the
rightmost character, symbols[0] the one left of it.

Result: ``var`` / ``var_amount`` (sampled, at ``confidence``), ``exact_var`` (from the exact
probabilities), ``expected_loss``, ``multi_asset_tail_probability`` (two or more assets in their
tail on the same day), ``counts``, ``shots``, ``seed``, ``backend``, ``qubits``, ``bit_order``
and the fitted ``model``.
"""

import math
import os
import random
import sys

from qhub.commons.secret import SecretValue

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quantum_service  # noqa: E402  (the sibling module, wherever the runtime loads us from)

MAX_ASSETS = quantum_service.MAX_QUBITS - 1


def log(message):
    print(f"tail_risk_sampler: {message}", flush=True)


def _probability_angle(p):
    """The RY angle that puts probability ``p`` on |1>."""
    return 2 * math.asin(math.sqrt(min(max(p, 0.0), 1.0)))


def validate(series, symbols, weights, threshold, confidence, notional, shots, seed):
    if not isinstance(series, list) or not series or not all(isinstance(s, list) for s in series):
        raise ValueError("series must be a non-empty list of price lists (map it from prices.series)")
    if len(series) > MAX_ASSETS:
        raise ValueError(f"series has {len(series)} assets; at most {MAX_ASSETS} fit the simulator")
    length = len(series[0])
    if length < 3:
        raise ValueError("series needs at least 3 prices per asset")
    for i, s in enumerate(series):
        if len(s) != length:
            raise ValueError(f"series[{i}] has {len(s)} prices, series[0] has {length}")
        if not all(quantum_service.is_number(p) and p > 0 for p in s):
            raise ValueError(f"series[{i}] holds a price that is not a positive number")
    if not isinstance(symbols, list) or len(symbols) != len(series):
        raise ValueError(f"symbols must be a list of {len(series)} names, one per series")
    if not isinstance(weights, list) or len(weights) != len(series):
        raise ValueError(f"weights must be a list of {len(series)} numbers, one per series")
    if not all(quantum_service.is_number(w) for w in weights) or abs(sum(weights) - 1) > 1e-6:
        raise ValueError("weights must be numbers that sum to 1")
    if not quantum_service.is_number(threshold) or not -1 < threshold < 0:
        raise ValueError("threshold must be a daily return between -1 and 0, e.g. -0.02")
    if not quantum_service.is_number(confidence) or not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1, e.g. 0.95")
    if not quantum_service.is_number(notional) or notional <= 0:
        raise ValueError("notional must be a positive number")
    if not quantum_service.is_int(shots) or not 1 <= shots <= quantum_service.MAX_SHOTS:
        raise ValueError(f"shots must be an integer from 1 to {quantum_service.MAX_SHOTS}")
    if seed is not None and not quantum_service.is_int(seed):
        raise ValueError("seed must be an integer")


def fit_model(series, threshold):
    """The one-factor tail model of the module docstring, from price series."""
    n = len(series)
    days = len(series[0]) - 1
    returns = [[s[t + 1] / s[t] - 1 for t in range(days)] for s in series]
    stress = [sum(returns[i][t] for i in range(n)) / n < threshold for t in range(days)]
    stress_days = sum(stress)
    calm_days = days - stress_days
    p_calm, p_stress, loss_given_tail = [], [], []
    for r in returns:
        tail = [r[t] < threshold for t in range(days)]
        calm_hits = sum(1 for t in range(days) if tail[t] and not stress[t])
        stress_hits = sum(1 for t in range(days) if tail[t] and stress[t])
        a = calm_hits / calm_days if calm_days else 0.0
        b = stress_hits / stress_days if stress_days else a
        p_calm.append(a)
        p_stress.append(b)
        tail_returns = [r[t] for t in range(days) if tail[t]]
        loss_given_tail.append(-sum(tail_returns) / len(tail_returns) if tail_returns else 0.0)
    return {
        "days": days,
        "p_stress": stress_days / days,
        "p_tail_calm": p_calm,
        "p_tail_stress": p_stress,
        "loss_given_tail": loss_given_tail,
    }


def build_circuit(model, shots, seed):
    """circuit_data (quantum_service's format) loading ``model``; qubit 0 = stress factor."""
    gates = [{"gate": "ry", "target": 0, "theta": _probability_angle(model["p_stress"])}]
    for i, (a, b) in enumerate(zip(model["p_tail_calm"], model["p_tail_stress"])):
        q = i + 1
        gates += [
            {"gate": "x", "target": 0},
            {"gate": "cry", "control": 0, "target": q, "theta": _probability_angle(a)},
            {"gate": "x", "target": 0},
            {"gate": "cry", "control": 0, "target": q, "theta": _probability_angle(b)},
        ]
    circuit = {"qubits": len(model["p_tail_calm"]) + 1, "gates": gates, "shots": shots}
    if seed is not None:
        circuit["seed"] = seed
    return circuit


def outcome_loss(bits, weights, loss_given_tail):
    """Portfolio loss of one outcome; bits[-1] is qubit 0 (stress), bits[-2-i] is asset i."""
    return sum(
        w * l for i, (w, l) in enumerate(zip(weights, loss_given_tail)) if bits[-2 - i] == "1"
    )


def value_at_risk(weighted_losses, confidence):
    """Smallest loss l with P(loss <= l) >= confidence, from (loss, weight) pairs."""
    total = sum(w for _, w in weighted_losses)
    cumulative = 0.0
    for loss, w in sorted(weighted_losses):
        cumulative += w
        if cumulative >= confidence * total - 1e-12:
            return loss
    return max(loss for loss, _ in weighted_losses)


def run(
    series: list,
    symbols: list,
    weights: list,
    ibm_token: SecretValue,
    threshold: float = -0.02,
    confidence: float = 0.95,
    notional: float = 1.0,
    shots: int = 4096,
    seed: int = None,
) -> dict:
    threshold = -0.02 if threshold is None else threshold
    confidence = 0.95 if confidence is None else confidence
    notional = 1.0 if notional is None else notional
    shots = 4096 if shots is None else shots
    validate(series, symbols, weights, threshold, confidence, notional, shots, seed)
    shots = int(shots)
    seed = None if seed is None else int(seed)

    log("checking the IBM token")
    kind = quantum_service.check_ibm_token(ibm_token)
    log(f"token accepted ({kind}); sampling on {quantum_service.BACKEND}")

    model = fit_model(series, threshold)
    log(
        f"{model['days']} days, {len(symbols)} assets, stress-day share {model['p_stress']:.3f}, "
        f"tail threshold {threshold:+.2%}"
    )
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    sampled = quantum_service.run_circuit(build_circuit(model, shots, seed))

    losses = {
        bits: outcome_loss(bits, weights, model["loss_given_tail"]) for bits in sampled["probabilities"]
    }
    var = value_at_risk([(losses[b], n) for b, n in sampled["counts"].items()], confidence)
    exact_var = value_at_risk([(losses[b], p) for b, p in sampled["probabilities"].items()], confidence)
    expected = sum(losses[b] * n for b, n in sampled["counts"].items()) / shots
    multi = sum(n for b, n in sampled["counts"].items() if b[:-1].count("1") >= 2) / shots
    log(f"sampled VaR({confidence}) {var:.4%} (exact {exact_var:.4%}), expected loss {expected:.4%}")

    return {
        "method": "quantum-sampled-one-factor",
        "confidence": confidence,
        "var": round(var, 8),
        "var_amount": round(var * notional, 2),
        "exact_var": round(exact_var, 8),
        "expected_loss": round(expected, 8),
        "multi_asset_tail_probability": round(multi, 8),
        "counts": sampled["counts"],
        "shots": shots,
        "seed": sampled["seed"],
        "backend": sampled["backend"],
        "qubits": sampled["qubits"],
        "bit_order": "rightmost bit: stress factor (qubit 0); then symbols[0], symbols[1], ... "
        "leftwards",
        "symbols": symbols,
        "model": {
            "days": model["days"],
            "p_stress": round(model["p_stress"], 8),
            **{k: [round(x, 8) for x in model[k]]
               for k in ("p_tail_calm", "p_tail_stress", "loss_given_tail")},
        },
        "token_kind": kind,
    }
