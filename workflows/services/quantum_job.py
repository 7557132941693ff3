"""The platform's quantum job pattern, offline: transpile, submit, poll until done, fall back.

One module, one function per service node of ``workflows/quantum-job.json``; each is written
the way a Kipu Quantum Hub managed service is (keyword parameters, a ``SecretValue`` for the
token, a JSON-object result; ``Any`` for a string input, since the platform's runtime passes a
``str`` parameter its input's JSON text, quotes included). Standard library only; the circuit is simulated by
``quantum_service.run_circuit`` (the same state-vector simulator as ``quantum-secrets.json``).

The backend is simulated too, deterministically, from the ``backend`` input::

    {"name": "ibm_brisbane", "available": true, "queue_polls": 2, "outcome": "COMPLETED"}

* ``available: false``: ``submit`` raises ``BACKEND_UNAVAILABLE`` (an error code: the workflow's
  error path routes it to the local simulator);
* ``queue_polls``: how many polls report ``QUEUED``/``RUNNING`` before the job ends;
* ``outcome``: the status the job ends with (``COMPLETED``, or ``FAILED``/``ERROR``/
  ``CANCELLED`` to see the gateway route a failed job to the simulator).

``transpile`` is the flaky step: its first attempt fails as a calibration service that is not
ready yet would (``WFOP_ATTEMPT`` is 1), and the node's ``retries`` runs it again.

No message, log line or result contains the token or any part of it.
"""

import hashlib
import os
import sys
from typing import Any

from qhub.commons.secret import SecretValue

import quantum_service

# The statuses a job on the backend can report (IBM Quantum's JobStatus names).
FINAL_FAILED = ("FAILED", "ERROR", "CANCELLED")


class BackendUnavailable(Exception):
    """Raised when the chosen backend takes no jobs; ``code`` names the error for the engine."""

    code = "BACKEND_UNAVAILABLE"


def log(message):
    print(message, file=sys.stderr, flush=True)


def transpile(circuit_data: dict, backend: dict) -> dict:
    """Check the circuit and 'transpile' it for the backend (counts its depth)."""
    attempt = int(os.environ.get("WFOP_ATTEMPT", "1"))
    if attempt == 1:
        raise RuntimeError(
            f"calibration data for {backend.get('name', '?')} is not ready yet (transient)"
        )
    qubits, gates, _shots, _seed = quantum_service.validate_circuit(circuit_data)
    depth = [0] * qubits
    for gate in gates:
        wires = [gate[k] for k in ("control", "target", "target2") if k in gate]
        level = max(depth[w] for w in wires) + 1
        for w in wires:
            depth[w] = level
    log(f"attempt {attempt}: {len(gates)} gate(s) on {qubits} qubit(s), depth {max(depth)}")
    return {"transpiled": {"circuit": circuit_data, "depth": max(depth)}}


def submit(transpiled: dict, backend: dict, ibm_token: SecretValue) -> dict:
    """Submit the job with the token; a backend that takes no jobs raises an error code."""
    kind = quantum_service.check_ibm_token(ibm_token)
    name = backend.get("name", "ibm_brisbane")
    log(f"token accepted ({kind}); submitting to {name}")
    if not backend.get("available", True):
        raise BackendUnavailable(f"{name} is in maintenance")
    job_id = "job-" + hashlib.sha256(repr(sorted(transpiled.items())).encode()).hexdigest()[:12]
    log(f"submitted {job_id}")
    return {
        "job": {
            "id": job_id,
            "backend": name,
            "circuit": transpiled["circuit"],
            "queue_polls": int(backend.get("queue_polls", 2)),
            "outcome": backend.get("outcome", "COMPLETED"),
        }
    }


def poll(job: dict, polls: int, ibm_token: SecretValue) -> dict:
    """One status poll; the job ends after ``queue_polls`` polls with its ``outcome``."""
    quantum_service.check_ibm_token(ibm_token)
    polls = int(polls) + 1
    if polls <= job["queue_polls"]:
        status = "QUEUED" if polls == 1 else "RUNNING"
        log(f"poll {polls}: {job['id']} is {status}")
        return {"polls": polls, "status": status}
    status = job["outcome"]
    log(f"poll {polls}: {job['id']} is {status}")
    if status != "COMPLETED":
        return {"polls": polls, "status": status}
    result = quantum_service.run_circuit(job["circuit"])
    result["backend"] = job["backend"]
    return {"polls": polls, "status": status, "result": result}


def simulate(transpiled: dict, reason: Any) -> dict:
    """The fallback: run the circuit on the local simulator."""
    log(f"falling back to the local simulator: {reason}")
    return {"status": "SIMULATED", "result": quantum_service.run_circuit(transpiled["circuit"])}


def report(result: dict, status: Any, polls: int) -> dict:
    """Summarise the counts, whichever way they were produced."""
    top = sorted(result["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    line = ", ".join(f"{k}={v}" for k, v in top)
    log(f"{status} on {result['backend']} after {polls} poll(s): {line}")
    return {"summary": {"status": status, "backend": result["backend"], "top": dict(top)}}
