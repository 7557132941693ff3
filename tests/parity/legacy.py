"""A parity case: a service written for the older runtime's module names (planqk.commons)."""

from planqk.commons.runtime import HandlerError
from planqk.commons.secret import SecretValue


def run(n: int, ibm_token: SecretValue):
    if n < 0:
        raise HandlerError("Negative", "n must not be negative", {"n": n})
    return {"n": n, "length": len(ibm_token.unwrap())}
