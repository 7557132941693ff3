"""Shared helpers of the service tests: paths, fake secrets, and running a service the way
wfop does (docs/service-protocol.md): a private folder with input/ and output/, one input/<key>.json
per top-level key, the whole object on stdin, SECRET_* variables, output/output.json back.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import fake_qhub

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKFLOWS = os.path.join(ROOT, "workflows")
SERVICES = os.path.join(WORKFLOWS, "services")
# The real runtime shim that wfop embeds (emulates qhub.commons when it is not installed).
SHIM = os.path.join(os.path.dirname(os.path.dirname(HERE)), "src", "engine", "shim.py")

# Fake secrets of the right shapes. Distinctive, so that a leak is easy to find.
LEGACY_TOKEN = "deadbeef" * 16  # 128 hex characters
CLOUD_API_KEY = "Zq3_wF9-kLm2Xv7pQr4sTu8yBn1cDe5fGh6jKa0Pw_-x"  # 44 characters
MARKET_KEY = "mdk_test_6f1c0a9e4b7d2c8f5a3e"

fake_qhub.install()
if SERVICES not in sys.path:
    sys.path.insert(0, SERVICES)


def secret_env_name(param):
    """The hub's rule: upper-case names get SECRET_ + name; otherwise `_` before every
    upper-case letter but the first, upper-cased, with the SECRET_ prefix."""
    if param.isupper():
        return "SECRET_" + param
    return "SECRET_" + re.sub(r"(?<!^)(?=[A-Z])", "_", param).upper()


def load_json(path):
    """json.load that rejects duplicate keys (wfop does too)."""

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"{path}: duplicate key(s) {', '.join(dupes)}")
        return dict(pairs)

    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_duplicates)


class ServiceRun:
    """What a protocol run left behind: exit code, stdout, stderr, parsed output (or None)."""

    def __init__(self, returncode, stdout, stderr, output, output_text):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.output = output
        self.output_text = output_text

    def everything(self):
        return self.stdout + self.stderr + (self.output_text or "")


def run_service(run, inputs, secrets=None, workflow_dir=WORKFLOWS, extra_env=None, timeout=120):
    """Run one service node's ``run`` object with evaluated ``inputs`` and ``secrets``
    ({param: value}), following the protocol. Returns a ServiceRun."""
    with tempfile.TemporaryDirectory() as private:
        os.chmod(private, 0o700)
        in_dir = os.path.join(private, "input")
        out_dir = os.path.join(private, "output")
        os.mkdir(in_dir)
        os.mkdir(out_dir)
        for key, value in inputs.items():
            with open(os.path.join(in_dir, f"{key}.json"), "w", encoding="utf-8") as f:
                json.dump(value, f)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECRET_")}
        env.update(run.get("env", {}))
        env.update(extra_env or {})
        env.update(
            INPUT_DIRECTORY=in_dir,
            OUTPUT_DIRECTORY=out_dir,
            WFOP_RUN_ID="test-run",
            WFOP_NODE_ID="test-node",
        )
        for param, value in (secrets or {}).items():
            env[secret_env_name(param)] = value
        if "python" in run:
            argv = [sys.executable, SHIM, os.path.join(workflow_dir, run["python"]),
                    run.get("function", "run")]
            cwd = workflow_dir
        else:
            argv = list(run["command"])
            cwd = os.path.join(workflow_dir, run.get("cwd", "."))
        proc = subprocess.run(
            argv, input=json.dumps(inputs), capture_output=True, text=True, cwd=cwd, env=env,
            timeout=timeout,
        )
        output, output_text = None, None
        path = os.path.join(out_dir, "output.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                output_text = f.read()
            output = json.loads(output_text)
        return ServiceRun(proc.returncode, proc.stdout, proc.stderr, output, output_text)
