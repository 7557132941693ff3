"""quantum_service: the state-vector simulator, circuit validation, the token check, run()."""

import contextlib
import io
import math
import unittest

import support
import quantum_service as qs
from qhub.commons.secret import SecretValue

GHZ5 = {
    "qubits": 5,
    "gates": [{"gate": "h", "target": 0}]
    + [{"gate": "cx", "control": q, "target": q + 1} for q in range(4)],
    "shots": 2000,
    "seed": 7,
}


SHAPE_ERROR = (
    "ibm_token: not a recognised IBM token shape; expected a legacy IBM Quantum token "
    "(128 hexadecimal characters) or an IBM Cloud API key (44 characters of A-Z a-z 0-9 _ -)"
)


def quiet(fn, *args):
    """Call fn(*args) with stdout captured; return (result, printed text)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args)
    return result, out.getvalue()


class SimulatorTest(unittest.TestCase):
    def test_ghz5_gives_only_all_zeros_and_all_ones_about_equally(self):
        result, _ = quiet(qs.run_circuit, GHZ5)
        counts = result["counts"]
        self.assertEqual(set(counts), {"00000", "11111"})
        self.assertEqual(sum(counts.values()), 2000)
        self.assertLess(abs(counts["00000"] - 1000), 100)  # ~4.5 sigma
        self.assertEqual(result["probabilities"], {"00000": 0.5, "11111": 0.5})

    def test_same_seed_same_counts(self):
        a, _ = quiet(qs.run_circuit, GHZ5)
        b, _ = quiet(qs.run_circuit, GHZ5)
        self.assertEqual(a["counts"], b["counts"])
        c, _ = quiet(qs.run_circuit, {**GHZ5, "seed": 8})
        self.assertNotEqual(a["counts"], c["counts"])

    def test_bell_state(self):
        circuit = {"qubits": 2, "gates": [{"gate": "h", "target": 0},
                                          {"gate": "cnot", "control": 0, "target": 1}],
                   "shots": 1000, "seed": 1}
        result, _ = quiet(qs.run_circuit, circuit)
        self.assertEqual(set(result["counts"]), {"00", "11"})
        state = qs.simulate(2, qs.validate_circuit(circuit)[1])
        self.assertAlmostEqual(state[0], 1 / math.sqrt(2))
        self.assertAlmostEqual(state[3], 1 / math.sqrt(2))

    def test_x_on_qubit_0_is_the_rightmost_bit(self):
        result, _ = quiet(qs.run_circuit, {"qubits": 3, "gates": [{"gate": "x", "target": 0}],
                                          "shots": 10, "seed": 3})
        self.assertEqual(result["counts"], {"001": 10})
        result, _ = quiet(qs.run_circuit, {"qubits": 3, "gates": [{"gate": "x", "target": 2}],
                                          "shots": 10, "seed": 3})
        self.assertEqual(result["counts"], {"100": 10})

    def test_z_and_rotations(self):
        # H Z H = X
        gates = [{"gate": "h", "target": 0}, {"gate": "z", "target": 0}, {"gate": "h", "target": 0}]
        state = qs.simulate(1, qs.validate_circuit({"qubits": 1, "gates": gates})[1])
        self.assertAlmostEqual(abs(state[1]), 1.0)
        # RX(pi) flips, RZ only changes phases
        state = qs.simulate(1, [{"gate": "rx", "target": 0, "theta": math.pi}])
        self.assertAlmostEqual(abs(state[1]) ** 2, 1.0)
        state = qs.simulate(1, [{"gate": "h", "target": 0}, {"gate": "rz", "target": 0, "theta": 1.2}])
        self.assertAlmostEqual(abs(state[0]) ** 2, 0.5)
        # RY(2 asin(sqrt(p))) puts p on |1>
        state = qs.simulate(1, [{"gate": "ry", "target": 0, "theta": 2 * math.asin(math.sqrt(0.3))}])
        self.assertAlmostEqual(abs(state[1]) ** 2, 0.3)

    def test_controlled_ry_and_swap(self):
        gates = [{"gate": "x", "target": 0},
                 {"gate": "cry", "control": 0, "target": 1, "theta": math.pi},
                 {"gate": "swap", "target": 0, "target2": 2}]
        state = qs.simulate(3, gates)
        self.assertAlmostEqual(abs(state[0b110]) ** 2, 1.0)

    def test_integral_floats_are_accepted(self):
        result, _ = quiet(qs.run_circuit, {"qubits": 2.0, "gates": [{"gate": "x", "target": 1.0}],
                                          "shots": 4.0, "seed": 2.0})
        self.assertEqual(result["counts"], {"10": 4})


class CircuitValidationTest(unittest.TestCase):
    def assertRejected(self, circuit, *fragments):
        with self.assertRaises(ValueError) as caught:
            qs.validate_circuit(circuit)
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))

    def test_bad_circuits(self):
        self.assertRejected([], "must be an object")
        self.assertRejected({"gates": []}, "missing 'qubits'")
        self.assertRejected({"qubits": 0, "gates": []}, "'qubits' must be an integer from 1 to 16")
        self.assertRejected({"qubits": 17, "gates": []}, "from 1 to 16")
        self.assertRejected({"qubits": True, "gates": []}, "'qubits'")
        self.assertRejected({"qubits": 2}, "'gates' must be a list")
        self.assertRejected({"qubits": 2, "gates": [], "shots": 0}, "'shots'")
        self.assertRejected({"qubits": 2, "gates": [], "seed": "x"}, "'seed'")
        self.assertRejected({"qubits": 2, "gates": [], "shot": 5}, "unknown key(s) shot")
        self.assertRejected({"qubits": 2, "gates": ["h"]}, "gates[0]", "must be an object")
        self.assertRejected({"qubits": 2, "gates": [{"target": 0}]}, "gates[0]", "missing 'gate'")
        self.assertRejected({"qubits": 2, "gates": [{"gate": "toffoli", "target": 0}]},
                            "unknown gate 'toffoli'")
        self.assertRejected({"qubits": 2, "gates": [{"gate": "h", "target": 2}]},
                            "gates[0]: target 2 is out of range (qubits 0..1)")
        self.assertRejected({"qubits": 2, "gates": [{"gate": "x", "target": 0},
                                                    {"gate": "cx", "control": 5, "target": 0}]},
                            "gates[1]: control 5 is out of range")
        self.assertRejected({"qubits": 2, "gates": [{"gate": "cx", "control": 1, "target": 1}]},
                            "control and target must differ")
        self.assertRejected({"qubits": 2, "gates": [{"gate": "cx", "target": 1}]}, "needs control")
        self.assertRejected({"qubits": 2, "gates": [{"gate": "h", "target": 0, "theta": 1}]},
                            "not theta")
        self.assertRejected({"qubits": 2, "gates": [{"gate": "rz", "target": 0, "theta": "pi"}]},
                            "theta must be a finite number")
        self.assertRejected({"qubits": 2, "gates": [{"gate": "rz", "target": 0,
                                                     "theta": float("nan")}]}, "theta")


class TokenTest(unittest.TestCase):
    def test_accepted_shapes(self):
        self.assertEqual(qs.token_kind(support.LEGACY_TOKEN), "ibm-quantum-legacy")
        self.assertEqual(qs.token_kind(support.LEGACY_TOKEN.upper()), "ibm-quantum-legacy")
        self.assertEqual(qs.token_kind(support.CLOUD_API_KEY), "ibm-cloud-api-key")
        self.assertEqual(qs.token_kind(support.CLOUD_API_KEY + "\n"), "ibm-cloud-api-key")

    def test_malformed_tokens_are_rejected_without_showing_them(self):
        bad = [
            support.LEGACY_TOKEN[:-1],             # 127 hex
            support.LEGACY_TOKEN[:-1] + "g",       # not hex
            support.CLOUD_API_KEY[:-1],            # 43
            support.CLOUD_API_KEY[:-1] + "!",      # bad character
            "my secret token with spaces",
            "",
            "   ",
        ]
        for token in bad:
            with self.subTest(i=bad.index(token)):
                with self.assertRaises(ValueError) as caught:
                    qs.check_ibm_token(SecretValue(token))
                message = str(caught.exception)
                self.assertIn("ibm_token", message)
                if token.strip():
                    self.assertNotIn(token.strip(), message)
                    self.assertNotIn(token.strip()[:12], message)
                # one fixed text whatever the token: no part of it, not even its length
                self.assertIn(message, (SHAPE_ERROR, "ibm_token: the secret is empty"))

    def test_non_string_and_non_secret(self):
        with self.assertRaises(ValueError):
            qs.check_ibm_token(SecretValue(12345))
        with self.assertRaises(TypeError) as caught:
            qs.check_ibm_token(support.CLOUD_API_KEY)
        self.assertNotIn(support.CLOUD_API_KEY, str(caught.exception))


class RunTest(unittest.TestCase):
    def test_run_returns_counts_and_never_prints_the_token(self):
        for token in (support.LEGACY_TOKEN, support.CLOUD_API_KEY):
            secret = SecretValue(token)
            result, printed = quiet(qs.run, GHZ5, secret)
            self.assertEqual(set(result["counts"]), {"00000", "11111"})
            self.assertEqual(result["shots"], 2000)
            self.assertEqual(result["backend"], "wfop-local-statevector")
            self.assertEqual(result["qubits"], 5)
            self.assertEqual(result["seed"], 7)
            self.assertIn("quantum_service:", printed)
            self.assertNotIn(token, printed)
            self.assertNotIn(token, repr(result))
            self.assertEqual(secret.unwrap_calls, 1)  # unwrapped exactly once
            self.assertTrue(secret.is_locked)

    def test_run_with_malformed_token_prints_nothing_of_it(self):
        token = "not-a-token-but-secret-anyway-123"
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(ValueError) as caught:
            qs.run(GHZ5, SecretValue(token))
        self.assertNotIn(token, out.getvalue() + str(caught.exception))

    def test_run_without_seed_echoes_a_fresh_one(self):
        circuit = {k: v for k, v in GHZ5.items() if k != "seed"}
        result, _ = quiet(qs.run, circuit, SecretValue(support.CLOUD_API_KEY))
        again, _ = quiet(qs.run_circuit, {**circuit, "seed": result["seed"]})
        self.assertEqual(result["counts"], again["counts"])

    def test_bundled_input_runs_through_the_protocol(self):
        workflow = support.load_json(f"{support.WORKFLOWS}/quantum-secrets.json")
        inputs = support.load_json(f"{support.WORKFLOWS}/quantum-secrets.input.json")
        node = next(n for n in workflow["nodes"] if n["type"] == "service")
        ran = support.run_service(node["run"], {"circuit_data": inputs["circuit_data"]},
                                  {"ibm_token": support.LEGACY_TOKEN})
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertEqual(set(ran.output["counts"]), {"00000", "11111"})
        self.assertEqual(sum(ran.output["counts"].values()), 1024)
        self.assertNotIn(support.LEGACY_TOKEN, ran.everything())

    def test_missing_secret_fails_before_the_handler_runs(self):
        # As on the platform: a binding error escapes the runtime (no problem document).
        workflow = support.load_json(f"{support.WORKFLOWS}/quantum-secrets.json")
        node = next(n for n in workflow["nodes"] if n["type"] == "service")
        ran = support.run_service(node["run"], {"circuit_data": GHZ5})
        self.assertEqual(ran.returncode, 1)
        self.assertIsNone(ran.output)
        self.assertTrue(
            ran.stderr.rstrip().endswith(
                "ValueError: Required secret parameter 'ibm_token' not found. "
                "Expected environment variable: SECRET_IBM_TOKEN"),
            ran.stderr)


if __name__ == "__main__":
    unittest.main()
