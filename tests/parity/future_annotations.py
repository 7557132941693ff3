"""A parity case: `from __future__ import annotations` makes every hint a string, which the
platform's runtime does not resolve (tests/run_parity.rs, cases.json)."""

from __future__ import annotations

from qhub.commons.secret import SecretValue


def run(circuit: dict, shots: int = 100):
    return {"circuit": circuit, "shots": shots}


def defaults_only(shots: int = 100):
    return {"shots": shots}


def secret(ibm_token: SecretValue):
    return {"length": len(ibm_token.unwrap())}
