"""The SecretValue fake behaves like the hub's (and wfop's shim's) SecretValue."""

import unittest

import support  # noqa: F401  (installs the fake into sys.modules)
from qhub.commons.secret import SecretValue


class SecretValueFakeTest(unittest.TestCase):
    def test_str_and_repr_never_show_the_value(self):
        secret = SecretValue("hunter2-hunter2")
        self.assertEqual(str(secret), "[redacted]")
        self.assertEqual(repr(secret), "SecretValue([redacted])")
        self.assertEqual(f"{secret}", "[redacted]")
        self.assertNotIn("hunter2", repr([secret, {"k": secret}]))

    def test_unwrap_works_once_then_locks(self):
        secret = SecretValue("hunter2-hunter2")
        self.assertFalse(secret.is_locked)
        self.assertEqual(secret.unwrap(), "hunter2-hunter2")
        self.assertTrue(secret.is_locked)
        with self.assertRaises(ValueError) as caught:
            secret.unwrap()
        self.assertEqual(str(caught.exception), "Secret is locked and cannot be unwrapped")

    def test_planqk_name_is_importable_too(self):
        from planqk.commons.secret import SecretValue as Legacy

        self.assertIs(Legacy, SecretValue)

    def test_hub_env_name_rule(self):
        self.assertEqual(support.secret_env_name("ibm_token"), "SECRET_IBM_TOKEN")
        self.assertEqual(support.secret_env_name("ibmToken"), "SECRET_IBM_TOKEN")
        self.assertEqual(support.secret_env_name("API_KEY"), "SECRET_API_KEY")
        self.assertEqual(
            support.secret_env_name("market_data_api_key"), "SECRET_MARKET_DATA_API_KEY"
        )


if __name__ == "__main__":
    unittest.main()
