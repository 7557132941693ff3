"""The shell services, run as wfop runs them: temp INPUT_/OUTPUT_DIRECTORY, a fake key."""

import math
import os
import unittest

import support

FETCH = {"command": ["sh", "services/fetch_market_data.sh"], "cwd": ".",
         "env": {"MARKET_DATA_DIR": "data"}}
HISTORICAL = {"command": ["sh", "services/historical_var.sh"], "cwd": "."}
SECRETS = {"market_data_api_key": support.MARKET_KEY}
REQUEST = {"symbols": ["AURA", "CYAN", "DUNE"], "as_of": "2024-06-28", "lookback_days": 20}


def closes(symbol, as_of, count):
    """Reference reader of the bundled CSV."""
    with open(os.path.join(support.WORKFLOWS, "data", "market-prices.csv")) as f:
        rows = [line.strip().split(",") for line in f if line.strip() and not line.startswith("#")]
    col = rows[0].index(symbol)
    kept = [r for r in rows[1:] if r[0] <= as_of]
    return [r[0] for r in kept[-count:]], [float(r[col]) for r in kept[-count:]]


class FetchMarketDataTest(unittest.TestCase):
    def test_fetches_the_requested_window_and_signs_without_leaking_the_key(self):
        ran = support.run_service(FETCH, REQUEST, SECRETS)
        self.assertEqual(ran.returncode, 0, ran.stderr)
        prices = ran.output["prices"]
        self.assertEqual(prices["symbols"], ["AURA", "CYAN", "DUNE"])
        self.assertEqual(len(prices["dates"]), 21)
        self.assertEqual(prices["dates"][-1], "2024-06-28")
        dates, cyan = closes("CYAN", "2024-06-28", 21)
        self.assertEqual(prices["dates"], dates)
        self.assertEqual(prices["series"][1], cyan)
        self.assertRegex(ran.output["signature"], r"^sha256:[0-9a-f]{64}$")
        self.assertRegex(ran.output["request_id"], r"^[0-9a-f]{16}$")
        self.assertIn("fetch_market_data: request", ran.stdout)
        self.assertNotIn(support.MARKET_KEY, ran.everything())

    def test_signature_depends_on_the_key(self):
        a = support.run_service(FETCH, REQUEST, SECRETS)
        b = support.run_service(FETCH, REQUEST, {"market_data_api_key": support.MARKET_KEY + "x"})
        self.assertNotEqual(a.output["signature"], b.output["signature"])
        self.assertEqual(a.output["prices"], b.output["prices"])

    def test_missing_key_fails_clearly(self):
        ran = support.run_service(FETCH, REQUEST, {})
        self.assertNotEqual(ran.returncode, 0)
        self.assertIn("SECRET_MARKET_DATA_API_KEY is not set", ran.stderr)
        self.assertIsNone(ran.output)

    def test_short_key_fails_without_showing_it(self):
        ran = support.run_service(FETCH, REQUEST, {"market_data_api_key": "tiny-key"})
        self.assertNotEqual(ran.returncode, 0)
        self.assertIn("shorter than 16 characters", ran.stderr)
        self.assertNotIn("tiny-key", ran.everything())

    def test_bad_inputs_fail_clearly(self):
        cases = [
            ({**REQUEST, "symbols": ["AURA", "NOPE"]}, "unknown symbol NOPE"),
            ({**REQUEST, "symbols": []}, "input symbols is empty"),
            ({k: v for k, v in REQUEST.items() if k != "as_of"}, "input as_of is missing"),
            ({**REQUEST, "as_of": "June 28"}, "is not a date"),
            ({**REQUEST, "lookback_days": "many"}, "not a whole number"),
            ({**REQUEST, "as_of": "2023-05-10"}, "lookback_days needs 21"),
        ]
        for inputs, message in cases:
            with self.subTest(message=message):
                ran = support.run_service(FETCH, inputs, SECRETS)
                self.assertNotEqual(ran.returncode, 0)
                self.assertIn(message, ran.stderr)
                self.assertIsNone(ran.output)
                self.assertNotIn(support.MARKET_KEY, ran.everything())

    def test_defaults_and_float_lookback(self):
        ran = support.run_service(FETCH, {**REQUEST, "lookback_days": 20.0}, SECRETS)
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertEqual(len(ran.output["prices"]["dates"]), 21)
        ran = support.run_service(FETCH, {**REQUEST, "lookback_days": None}, SECRETS)
        self.assertEqual(len(ran.output["prices"]["dates"]), 251)


def reference_var(series, weights, confidence):
    days = len(series[0]) - 1
    returns = sorted(
        sum(w * (s[t + 1] / s[t] - 1) for s, w in zip(series, weights)) for t in range(days)
    )
    k = max(1, math.ceil(round((1 - confidence) * days, 9)))
    return -returns[k - 1], -sum(returns[:k]) / k, returns[0]


class HistoricalVarTest(unittest.TestCase):
    def test_matches_a_reference_computation(self):
        fetched = support.run_service(FETCH, {**REQUEST, "lookback_days": 250}, SECRETS).output
        series = fetched["prices"]["series"]
        weights = [0.5, 0.3, 0.2]
        ran = support.run_service(HISTORICAL, {"series": series, "weights": weights,
                                               "confidence": 0.95, "notional": 1000000})
        self.assertEqual(ran.returncode, 0, ran.stderr)
        var, cvar, worst = reference_var(series, weights, 0.95)
        out = ran.output
        self.assertEqual(out["method"], "historical-simulation")
        self.assertEqual(out["observations"], 250)
        self.assertAlmostEqual(out["var"], var, places=7)
        self.assertAlmostEqual(out["cvar"], cvar, places=7)
        self.assertAlmostEqual(out["worst_return"], worst, places=7)
        self.assertAlmostEqual(out["var_amount"], var * 1000000, places=1)
        self.assertGreater(out["cvar"], out["var"])
        self.assertIn("historical_var:", ran.stderr)

    def test_small_hand_checked_case(self):
        # returns of the single asset: +10 %, -10 %, -20 %, +25 %
        ran = support.run_service(HISTORICAL, {"series": [[100, 110, 99, 79.2, 99]],
                                               "weights": [1], "confidence": 0.5})
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertAlmostEqual(ran.output["var"], 0.1)               # 2nd worst of 4
        self.assertAlmostEqual(ran.output["cvar"], 0.15)             # mean of -20 %, -10 %
        self.assertAlmostEqual(ran.output["var_amount"], 0.1)        # notional defaults to 1

    def test_bad_inputs_fail_clearly(self):
        good = {"series": [[1, 2, 3], [2, 3, 4]], "weights": [0.5, 0.5]}
        cases = [
            ({"weights": [1]}, "input series is missing"),
            ({"series": [[1, 2, 3]]}, "input weights is missing"),
            ({**good, "weights": [0.5, 0.4]}, "weights must sum to 1"),
            ({**good, "weights": [1]}, "series has 2 asset(s) but weights has 1"),
            ({**good, "series": [[1, 2, 3], [2, 3]]}, "series[1] has 2 prices"),
            ({**good, "series": [[1, 2, 3], [2, -3, 4]]}, "not a positive price"),
            ({**good, "series": [1, 2, 3]}, "series must be a list of lists"),
            ({**good, "confidence": 1.5}, "confidence must be a number between 0 and 1"),
            ({**good, "series": [[1, 2], [2, 3]]}, "at least 3 prices"),
        ]
        for inputs, message in cases:
            with self.subTest(message=message):
                ran = support.run_service(HISTORICAL, inputs)
                self.assertNotEqual(ran.returncode, 0)
                self.assertIn(message, ran.stderr)
                self.assertIsNone(ran.output)

    def test_needs_the_protocol_folders(self):
        import subprocess

        env = {k: v for k, v in os.environ.items()
               if k not in ("INPUT_DIRECTORY", "OUTPUT_DIRECTORY")}
        for script in ("historical_var.sh", "fetch_market_data.sh"):
            proc = subprocess.run(["sh", f"services/{script}"], cwd=support.WORKFLOWS, env=env,
                                  capture_output=True, text=True)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("INPUT_DIRECTORY is not set", proc.stderr)


if __name__ == "__main__":
    unittest.main()
