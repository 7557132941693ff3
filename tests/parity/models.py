"""Parity cases with pydantic models (tests/run_parity.rs, cases.json)."""

from typing import List, Optional

from pydantic import BaseModel, Field
from qhub.commons.secret import SecretValue


class Circuit(BaseModel):
    qubits: int
    gates: List[str] = []


class Settings(BaseModel):
    shots: int = 1024
    backend: str = "simulator"


class Result(BaseModel):
    counts: dict
    shots: int
    note: Optional[str] = None
    ratio: float = Field(default=0.5)


def model(circuit: Circuit):
    return {"qubits": circuit.qubits, "gates": circuit.gates, "type": type(circuit).__name__}


def invalid_model(circuit: Circuit):
    return {"qubits": circuit.qubits}


def all_default_model(settings: Settings):
    return settings.model_dump()


def optional_invalid_model(circuit: Optional[Circuit] = None):
    return {"circuit": circuit}


def returns_model(n: int):
    return Result(counts={"00": n}, shots=n)


def returns_models_in_dict(n: int):
    return {"first": Result(counts={"00": n}, shots=n), "settings": Settings()}


def secret_is_a_model(ibm_token: SecretValue):
    return {"is_model": isinstance(ibm_token, BaseModel), "shown": str(ibm_token),
            "length": len(ibm_token.unwrap())}
