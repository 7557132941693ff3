"""risk_report: the join node's report."""

import contextlib
import io
import unittest

import support  # noqa: F401  (sys.path and the SecretValue fake)
import risk_report

PORTFOLIO = {"name": "Test sleeve", "currency": "EUR", "notional": 1000000,
             "symbols": ["A", "B"], "weights": [0.6, 0.4]}
CLASSICAL = {"var": 0.02, "cvar": 0.03, "confidence": 0.95, "observations": 250}
QUANTUM = {"var": 0.025, "exact_var": 0.024, "shots": 4096, "backend": "wfop-local-statevector",
           "multi_asset_tail_probability": 0.04}


def report(**overrides):
    args = dict(portfolio=PORTFOLIO, as_of="2024-06-28", classical=CLASSICAL, quantum=QUANTUM,
                market_data={"request_id": "abc", "provider": "p", "observations": 251})
    with contextlib.redirect_stdout(io.StringIO()) as out:
        result = risk_report.run(**{**args, **overrides})
    return result, out.getvalue()


class RiskReportTest(unittest.TestCase):
    def test_consistent_figures(self):
        result, printed = report()
        r = result["report"]
        self.assertEqual(r["status"], "consistent")
        self.assertAlmostEqual(r["var_gap"], 0.25)
        self.assertEqual(r["classical_var_amount"], 20000)
        self.assertEqual(r["quantum_var_amount"], 25000)
        self.assertIn("Test sleeve: one-day risk as of 2024-06-28", r["text"])
        self.assertIn("A 60%, B 40%", r["text"])
        self.assertIn("consistent", result["summary"])
        self.assertIn("risk_report: classical VaR(0.95) 2.00 %", printed)

    def test_large_gap_needs_review(self):
        result, _ = report(quantum={**QUANTUM, "var": 0.05})
        self.assertEqual(result["report"]["status"], "review")
        result, _ = report(quantum={**QUANTUM, "var": 0.05}, tolerance=2.0)
        self.assertEqual(result["report"]["status"], "consistent")

    def test_zero_classical_var(self):
        result, _ = report(classical={**CLASSICAL, "var": 0})
        self.assertEqual(result["report"]["status"], "review")
        self.assertIsNone(result["report"]["var_gap"])

    def test_missing_upstream_values_name_the_mapping(self):
        with self.assertRaises(ValueError) as caught:
            report(quantum=None)
        self.assertIn("quantum must be an object", str(caught.exception))
        with self.assertRaises(ValueError) as caught:
            report(classical={"var": 0.1})
        self.assertIn("classical lacks cvar, confidence", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
