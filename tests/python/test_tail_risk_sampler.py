"""tail_risk_sampler: model fitting, the circuit it builds, sampled VaR, and no token leaks."""

import contextlib
import io
import random
import unittest

import support
import quantum_service as qs
import tail_risk_sampler as trs
from qhub.commons.secret import SecretValue


def synthetic_series(days=200, assets=3, seed=5):
    rng = random.Random(seed)
    series = [[100.0] for _ in range(assets)]
    for _ in range(days):
        market = rng.gauss(0, 0.012)
        for s in series:
            s.append(s[-1] * (1 + market + rng.gauss(0, 0.008)))
    return series


SERIES = synthetic_series()
ARGS = dict(series=SERIES, symbols=["A", "B", "C"], weights=[0.5, 0.3, 0.2])


def run(token=support.CLOUD_API_KEY, **overrides):
    secret = SecretValue(token)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = trs.run(**{**ARGS, "ibm_token": secret, "shots": 4096, "seed": 3, **overrides})
    return result, out.getvalue(), secret


class ModelTest(unittest.TestCase):
    def test_fit_on_a_hand_made_series(self):
        # asset returns per day: A: -5 %, +0 %, -1 %;  B: -3 %, +1 %, -4 %
        series = [[100, 95, 95, 94.05], [100, 97, 97.97, 94.0512]]
        model = trs.fit_model(series, -0.02)
        self.assertEqual(model["days"], 3)
        self.assertAlmostEqual(model["p_stress"], 2 / 3)       # days 1 and 3 average below -2 %
        self.assertEqual(model["p_tail_calm"], [0.0, 0.0])
        self.assertAlmostEqual(model["p_tail_stress"][0], 0.5)  # A in its tail on day 1 only
        self.assertAlmostEqual(model["p_tail_stress"][1], 1.0)
        self.assertAlmostEqual(model["loss_given_tail"][0], 0.05)
        self.assertAlmostEqual(model["loss_given_tail"][1], 0.035)

    def test_circuit_reproduces_the_model_exactly(self):
        model = trs.fit_model(SERIES, -0.01)
        circuit = trs.build_circuit(model, 100, 1)
        qubits, gates, _, _ = qs.validate_circuit(circuit)
        probs = qs.probabilities(qs.simulate(qubits, gates))
        p_stress = sum(p for i, p in enumerate(probs) if i & 1)
        self.assertAlmostEqual(p_stress, model["p_stress"])
        for a in range(3):
            bit = 1 << (a + 1)
            p_tail = sum(p for i, p in enumerate(probs) if i & bit)
            expected = ((1 - model["p_stress"]) * model["p_tail_calm"][a]
                        + model["p_stress"] * model["p_tail_stress"][a])
            self.assertAlmostEqual(p_tail, expected)

    def test_value_at_risk(self):
        losses = [(0.0, 90), (0.01, 6), (0.03, 4)]
        self.assertEqual(trs.value_at_risk(losses, 0.9), 0.0)
        self.assertEqual(trs.value_at_risk(losses, 0.95), 0.01)
        self.assertEqual(trs.value_at_risk(losses, 0.99), 0.03)

    def test_outcome_loss_reads_qubit_0_rightmost(self):
        # bits: asset C, asset B, asset A, stress
        self.assertAlmostEqual(trs.outcome_loss("0011", [0.5, 0.3, 0.2], [0.1, 0.2, 0.4]), 0.05)
        self.assertAlmostEqual(trs.outcome_loss("1000", [0.5, 0.3, 0.2], [0.1, 0.2, 0.4]), 0.08)
        self.assertAlmostEqual(trs.outcome_loss("0001", [0.5, 0.3, 0.2], [0.1, 0.2, 0.4]), 0.0)


class RunTest(unittest.TestCase):
    def test_result_shape(self):
        result, printed, secret = run(threshold=-0.01, notional=1000)
        self.assertEqual(result["method"], "quantum-sampled-one-factor")
        self.assertEqual(result["qubits"], 4)
        self.assertEqual(sum(result["counts"].values()), 4096)
        self.assertTrue(all(len(k) == 4 for k in result["counts"]))
        self.assertGreaterEqual(result["var"], 0)
        self.assertAlmostEqual(result["var_amount"], result["var"] * 1000, places=2)
        self.assertLessEqual(abs(result["var"] - result["exact_var"]), 0.01)
        self.assertEqual(result["seed"], 3)
        self.assertEqual(result["symbols"], ["A", "B", "C"])
        self.assertEqual(secret.unwrap_calls, 1)
        self.assertIn("tail_risk_sampler:", printed)

    def test_deterministic_for_a_seed(self):
        a, _, _ = run()
        b, _, _ = run()
        self.assertEqual(a, b)

    def test_null_parameters_take_defaults(self):
        result, _, _ = run(threshold=None, confidence=None, notional=None, shots=None, seed=None)
        self.assertEqual(result["shots"], 4096)
        self.assertEqual(result["confidence"], 0.95)

    def test_never_prints_or_returns_the_token(self):
        for token in (support.LEGACY_TOKEN, support.CLOUD_API_KEY):
            result, printed, _ = run(token=token)
            self.assertNotIn(token, printed)
            self.assertNotIn(token, repr(result))

    def test_bad_token_and_bad_inputs(self):
        with self.assertRaises(ValueError) as caught:
            run(token="wrong-wrong-wrong")
        self.assertNotIn("wrong-wrong-wrong", str(caught.exception))
        for overrides, message in [
            ({"weights": [0.5, 0.5, 0.5]}, "sum to 1"),
            ({"weights": [1.0]}, "weights must be a list of 3"),
            ({"symbols": ["A"]}, "symbols must be a list of 3"),
            ({"series": []}, "series must be a non-empty list"),
            ({"series": [[1, 2, 3]] * 16, "symbols": ["x"] * 16, "weights": [1 / 16] * 16},
             "at most 15"),
            ({"threshold": 0.02}, "threshold"),
            ({"shots": 0}, "shots"),
        ]:
            with self.subTest(message=message), self.assertRaises(ValueError) as caught:
                run(**overrides)
            self.assertIn(message, str(caught.exception))


if __name__ == "__main__":
    unittest.main()
