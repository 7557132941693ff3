"""Orchestrated quantum service: checks an IBM token, then runs a circuit locally.

Written the way a Kipu Quantum Hub (formerly PLANQK) managed service is written: a module with
``run(**params)`` whose secret parameter arrives as a ``SecretValue``. Under wfop the embedded
shim provides ``qhub.commons.secret`` (DESIGN.md section 5); on the platform the real runtime
does. Standard library only.

The offline machine cannot reach IBM Quantum, so after checking the token's *shape* the service
simulates the circuit with a small state-vector simulator and samples measurement counts.

circuit_data
------------
A JSON object::

    {
      "qubits": 5,                       # required, integer 1..16
      "gates": [                         # required, list, applied in order
        {"gate": "h",  "target": 0},
        {"gate": "cx", "control": 0, "target": 1},
        {"gate": "rz", "target": 2, "theta": 1.5708},
        {"gate": "cry", "control": 0, "target": 3, "theta": 0.7}
      ],
      "shots": 1024,                     # optional, integer 1..1000000, default 1024
      "seed": 7                          # optional integer; omitted: a fresh seed, echoed back
    }

Gates (qubit indices are 0-based integers below ``qubits``; angles ``theta`` in radians):

* one qubit, key ``target``: ``h``, ``x``, ``y``, ``z``, ``s``, ``sdg``, ``t``, ``tdg``, ``id``
* one qubit with ``theta``: ``rx``, ``ry``, ``rz``, ``p`` (phase)
* two qubits, keys ``control`` and ``target``: ``cx`` (alias ``cnot``), ``cz``,
  ``cry`` (with ``theta``), ``swap`` (keys ``target`` and ``target2``)

Other keys in a gate object are errors, as are unknown gate names; errors are ``ValueError``
messages naming the gate by its position, e.g. ``gates[3]: control 7 is out of range``.
Every qubit is measured at the end.

Bitstring order
---------------
Counts use Qiskit's convention: **qubit 0 is the rightmost character**. With 3 qubits, an ``x``
on qubit 0 gives ``{"001": shots}``.

Token shapes
------------
The token is unwrapped once and surrounding whitespace is ignored. Accepted shapes:

* a legacy IBM Quantum (Experience) API token: exactly 128 hexadecimal characters;
* an IBM Cloud API key (IBM Quantum Platform on IBM Cloud): exactly 44 characters of
  ``A-Z a-z 0-9 _ -``.

Anything else raises ``ValueError``. No message, log line or result ever contains the token,
its length or any part of it.

Result
------
``{"counts": {"00000": 520, "11111": 504}, "shots": 1024, "backend": "wfop-local-statevector",
"qubits": 5, "seed": 7, "token_kind": "ibm-cloud-api-key", "probabilities": {...}}`` with only
the outcomes that occurred in ``counts`` (sorted by bitstring), and in ``probabilities`` the exact
probability of each outcome above 1e-12 (rounded to 12 digits).
"""

import cmath
import math
import random
import re
from bisect import bisect_right
from itertools import accumulate

from qhub.commons.secret import SecretValue

BACKEND = "wfop-local-statevector"
MAX_QUBITS = 16
MAX_SHOTS = 1_000_000
DEFAULT_SHOTS = 1024

_LEGACY_TOKEN = re.compile(r"[0-9a-fA-F]{128}")
_CLOUD_API_KEY = re.compile(r"[A-Za-z0-9_-]{44}")

_ONE_QUBIT = {"h", "x", "y", "z", "s", "sdg", "t", "tdg", "id"}
_ROTATIONS = {"rx", "ry", "rz", "p"}
_CONTROLLED = {"cx", "cnot", "cz", "cry"}
_GATE_KEYS = {
    **{g: {"gate", "target"} for g in _ONE_QUBIT},
    **{g: {"gate", "target", "theta"} for g in _ROTATIONS},
    "cx": {"gate", "control", "target"},
    "cnot": {"gate", "control", "target"},
    "cz": {"gate", "control", "target"},
    "cry": {"gate", "control", "target", "theta"},
    "swap": {"gate", "target", "target2"},
}
_CIRCUIT_KEYS = {"qubits", "gates", "shots", "seed"}


def log(message):
    """One progress line on stdout (wfop shows it live, redacted)."""
    print(f"quantum_service: {message}", flush=True)


# --- token ------------------------------------------------------------------------------------


def token_kind(token):
    """Name the shape of ``token`` ('ibm-quantum-legacy' or 'ibm-cloud-api-key'), or raise.

    The error message never contains the token, a part of it, or its length.
    """
    if not isinstance(token, str):
        raise ValueError("ibm_token: the secret is not a string")
    token = token.strip()
    if not token:
        raise ValueError("ibm_token: the secret is empty")
    if _LEGACY_TOKEN.fullmatch(token):
        return "ibm-quantum-legacy"
    if _CLOUD_API_KEY.fullmatch(token):
        return "ibm-cloud-api-key"
    raise ValueError(
        "ibm_token: not a recognised IBM token shape; expected a legacy IBM Quantum token "
        "(128 hexadecimal characters) or an IBM Cloud API key (44 characters of A-Z a-z 0-9 _ -)"
    )


# --- circuit_data validation -----------------------------------------------------------------


def is_int(value):
    """An integer, or a float with an integral value (JSON numbers like 4096.0 count)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def is_number(value):
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def validate_circuit(circuit_data):
    """Check ``circuit_data`` (see the module docstring); return (qubits, gates, shots, seed)."""
    if not isinstance(circuit_data, dict):
        raise ValueError(f"circuit_data must be an object, got {type(circuit_data).__name__}")
    unknown = sorted(set(circuit_data) - _CIRCUIT_KEYS)
    if unknown:
        raise ValueError(
            f"circuit_data: unknown key(s) {', '.join(unknown)}; allowed: gates, qubits, seed, shots"
        )
    if "qubits" not in circuit_data:
        raise ValueError("circuit_data: missing 'qubits'")
    qubits = circuit_data["qubits"]
    if not is_int(qubits) or not 1 <= qubits <= MAX_QUBITS:
        raise ValueError(f"circuit_data: 'qubits' must be an integer from 1 to {MAX_QUBITS}")
    gates = circuit_data.get("gates")
    if not isinstance(gates, list):
        raise ValueError("circuit_data: 'gates' must be a list of gate objects")
    shots = circuit_data.get("shots", DEFAULT_SHOTS)
    if not is_int(shots) or not 1 <= shots <= MAX_SHOTS:
        raise ValueError(f"circuit_data: 'shots' must be an integer from 1 to {MAX_SHOTS}")
    seed = circuit_data.get("seed")
    if seed is not None and not is_int(seed):
        raise ValueError("circuit_data: 'seed' must be an integer")
    qubits, shots = int(qubits), int(shots)
    seed = None if seed is None else int(seed)

    checked = []
    for i, gate in enumerate(gates):
        where = f"gates[{i}]"
        if not isinstance(gate, dict):
            raise ValueError(f"{where}: a gate must be an object like {{\"gate\": \"h\", \"target\": 0}}")
        name = gate.get("gate")
        if not isinstance(name, str):
            raise ValueError(f"{where}: missing 'gate' (the gate name)")
        name = name.lower()
        if name not in _GATE_KEYS:
            raise ValueError(
                f"{where}: unknown gate {name!r}; known: {', '.join(sorted(_GATE_KEYS))}"
            )
        allowed = _GATE_KEYS[name]
        extra = sorted(set(gate) - allowed)
        if extra:
            raise ValueError(
                f"{where}: gate {name!r} takes {', '.join(sorted(allowed))}, not {', '.join(extra)}"
            )
        missing = sorted(allowed - set(gate))
        if missing:
            raise ValueError(f"{where}: gate {name!r} needs {', '.join(missing)}")
        for key in ("target", "control", "target2"):
            if key in gate:
                q = gate[key]
                if not is_int(q) or not 0 <= q < qubits:
                    raise ValueError(
                        f"{where}: {key} {q!r} is out of range (qubits 0..{qubits - 1})"
                    )
        if "control" in gate and gate["control"] == gate["target"]:
            raise ValueError(f"{where}: control and target must differ")
        if "target2" in gate and gate["target2"] == gate["target"]:
            raise ValueError(f"{where}: swap needs two different qubits")
        if "theta" in gate and not is_number(gate["theta"]):
            raise ValueError(f"{where}: theta must be a finite number (radians)")
        gate = {k: (int(v) if k in ("target", "control", "target2") else v) for k, v in gate.items()}
        checked.append({**gate, "gate": "cx" if name == "cnot" else name})
    return qubits, checked, shots, seed


# --- state-vector simulator ------------------------------------------------------------------

_SQRT_HALF = 1 / math.sqrt(2)


def _matrix(name, theta=None):
    """The 2x2 unitary of a one-qubit gate as ((a, b), (c, d))."""
    if name == "h":
        return ((_SQRT_HALF, _SQRT_HALF), (_SQRT_HALF, -_SQRT_HALF))
    if name == "x":
        return ((0, 1), (1, 0))
    if name == "y":
        return ((0, -1j), (1j, 0))
    if name == "z":
        return ((1, 0), (0, -1))
    if name == "s":
        return ((1, 0), (0, 1j))
    if name == "sdg":
        return ((1, 0), (0, -1j))
    if name == "t":
        return ((1, 0), (0, cmath.exp(1j * math.pi / 4)))
    if name == "tdg":
        return ((1, 0), (0, cmath.exp(-1j * math.pi / 4)))
    if name == "id":
        return ((1, 0), (0, 1))
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    if name == "rx":
        return ((c, -1j * s), (-1j * s, c))
    if name in ("ry", "cry"):
        return ((c, -s), (s, c))
    if name == "rz":
        return ((cmath.exp(-1j * theta / 2), 0), (0, cmath.exp(1j * theta / 2)))
    if name == "p":
        return ((1, 0), (0, cmath.exp(1j * theta)))
    raise ValueError(f"no matrix for gate {name!r}")


def _apply_1q(state, target, m, control=None):
    (a, b), (c, d) = m
    bit = 1 << target
    cbit = 0 if control is None else 1 << control
    for i in range(len(state)):
        if i & bit or (cbit and not i & cbit):
            continue
        j = i | bit
        x0, x1 = state[i], state[j]
        state[i] = a * x0 + b * x1
        state[j] = c * x0 + d * x1


def simulate(qubits, gates):
    """Run validated ``gates`` on |0...0>; return the state vector (index bit q = qubit q)."""
    state = [0j] * (1 << qubits)
    state[0] = 1 + 0j
    for gate in gates:
        name = gate["gate"]
        if name in _ONE_QUBIT or name in _ROTATIONS:
            _apply_1q(state, gate["target"], _matrix(name, gate.get("theta")))
        elif name == "cx":
            _apply_1q(state, gate["target"], _matrix("x"), control=gate["control"])
        elif name == "cz":
            _apply_1q(state, gate["target"], _matrix("z"), control=gate["control"])
        elif name == "cry":
            _apply_1q(state, gate["target"], _matrix("cry", gate["theta"]), control=gate["control"])
        elif name == "swap":
            q1, q2 = gate["target"], gate["target2"]
            for i in range(len(state)):
                if (i >> q1) & 1 and not (i >> q2) & 1:
                    j = (i & ~(1 << q1)) | (1 << q2)
                    state[i], state[j] = state[j], state[i]
        else:  # validate_circuit rejects these; keep the simulator honest anyway
            raise ValueError(f"unsupported gate {name!r}")
    return state


def bitstring(index, qubits):
    """Outcome label of basis state ``index``: qubit 0 is the rightmost character."""
    return format(index, f"0{qubits}b")


def probabilities(state):
    return [abs(a) ** 2 for a in state]


def sample_counts(state, qubits, shots, rng):
    """Measure every qubit ``shots`` times; return {bitstring: count} sorted by bitstring."""
    probs = probabilities(state)
    cumulative = list(accumulate(probs))
    total = cumulative[-1]
    counts = {}
    for _ in range(shots):
        index = min(bisect_right(cumulative, rng.random() * total), len(probs) - 1)
        counts[index] = counts.get(index, 0) + 1
    return {bitstring(i, qubits): counts[i] for i in sorted(counts)}


def run_circuit(circuit_data):
    """Validate, simulate and sample ``circuit_data``; the token-free part of ``run``."""
    qubits, gates, shots, seed = validate_circuit(circuit_data)
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    log(f"simulating {qubits} qubit(s), {len(gates)} gate(s), {shots} shot(s), seed {seed}")
    state = simulate(qubits, gates)
    counts = sample_counts(state, qubits, shots, random.Random(seed))
    exact = {
        bitstring(i, qubits): round(p, 12) for i, p in enumerate(probabilities(state)) if p > 1e-12
    }
    return {
        "counts": counts,
        "shots": shots,
        "backend": BACKEND,
        "qubits": qubits,
        "seed": seed,
        "probabilities": exact,
    }


# --- entry point -----------------------------------------------------------------------------


def check_ibm_token(ibm_token):
    """Unwrap the SecretValue once, check its shape, return the shape's name (never the value)."""
    if not hasattr(ibm_token, "unwrap"):
        raise TypeError(
            "ibm_token must be a SecretValue (declare it in the node's `secrets` and map it in "
            "`$secrets`)"
        )
    token = ibm_token.unwrap()
    try:
        return token_kind(token)
    finally:
        del token


def run(circuit_data: dict, ibm_token: SecretValue) -> dict:
    log("checking the IBM token")
    kind = check_ibm_token(ibm_token)
    log(f"token accepted ({kind}); IBM Quantum is not reachable offline, using {BACKEND}")
    result = run_circuit(circuit_data)
    top = sorted(result["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    log("top outcomes (qubit 0 rightmost): " + ", ".join(f"{k}={v}" for k, v in top))
    result["token_kind"] = kind
    return result

