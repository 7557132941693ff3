"""wfop's embedded runtime shim for `run.python` services (docs/service-protocol.md).

    python3 wfop_shim.py /path/to/module.py function
    python3 wfop_shim.py --project /path/to/project package.module:function

Both forms come down to a folder first on sys.path and an entrypoint `module:function` imported
by name from it (a plain module: its folder and its file's stem; a project: the project root and
its entrypoint, so `src` is a package and relative imports work, as on the platform).

If the hub's own runtime (qhub.commons, or planqk.commons) is importable, hands over to it with
ENTRYPOINT=module:function. First moves the node's secrets from the pipe named by
$WFOP_SECRETS_FD into os.environ (see take_secrets). Otherwise emulates it with the standard library: binds parameters by
name from $INPUT_DIRECTORY/<name>.json, passes SECRET_<NAME> variables as SecretValue objects,
writes the result to $OUTPUT_DIRECTORY/output.json (output.txt for a str), and on an exception
writes a problem document and exits 1. Compiled into wfop; written into each service's folder.
"""

import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
import traceback
import types


def secret_env_name(name):
    """The hub's rule: UPPER names get SECRET_ + name; else _ before each capital, upper-cased."""
    if name.isupper():
        return "SECRET_" + name
    return "SECRET_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def take_secrets():
    """Moves this service's secrets from the inherited pipe into os.environ.

    wfop does not put a Python service's secrets in its exec-time environment (which
    /proc/<pid>/environ shows for the process's whole life): it writes a JSON object of
    SECRET_<NAME> -> value to a pipe whose descriptor is named by $WFOP_SECRETS_FD, set only
    for a service that maps secrets. Read once, closed at once, so no child inherits it.
    """
    fd = os.environ.pop("WFOP_SECRETS_FD", None)
    if fd is None:
        return
    with os.fdopen(int(fd), "rb", closefd=True) as f:
        data = f.read()
    for name, value in json.loads(data.decode("utf-8")).items():
        if name.startswith("SECRET_") and isinstance(value, str):
            os.environ[name] = value


def real_runtime():
    for root in ("qhub", "planqk"):
        try:
            return importlib.import_module(root + ".commons.runtime.main"), root
        except ImportError:
            continue
    return None, None


class SecretValue:
    """Stand-in for qhub.commons.secret.SecretValue: never shows its value, unwraps once."""

    __slots__ = ("_value", "_locked")

    def __init__(self, value):
        self._value = value
        self._locked = False

    def unwrap(self):
        if self._locked:
            raise ValueError("Secret is locked and cannot be unwrapped")
        self._locked = True
        value, self._value = self._value, None
        return value

    @property
    def is_locked(self):
        return self._locked

    def __str__(self):
        return "[redacted]"

    def __repr__(self):
        return "SecretValue([redacted])"

    def __format__(self, spec):
        return format(str(self), spec)

    def __reduce__(self):
        raise TypeError("a SecretValue cannot be pickled")


def install_secret_modules():
    """Make `qhub.commons.secret` and `planqk.commons.secret` importable (the emulated ones)."""
    for root in ("qhub", "planqk"):
        names = (root, root + ".commons", root + ".commons.secret")
        for i, name in enumerate(names):
            if name not in sys.modules:
                module = types.ModuleType(name)
                module.__path__ = []
                sys.modules[name] = module
                if i > 0:
                    setattr(sys.modules[names[i - 1]], name.rsplit(".", 1)[1], module)
        sys.modules[root + ".commons.secret"].SecretValue = SecretValue


def write_problem(out_dir, exc):
    title = type(exc).__name__
    detail = str(exc) or title
    doc = {"type": "about:blank", "status": 500, "title": title, "detail": detail}
    # An exception with a string `code` raises that error code (an error path may catch it).
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        doc["code"] = code
    with open(os.path.join(out_dir, "output.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f)


def is_secret_annotation(annotation):
    if annotation is SecretValue:
        return True
    return getattr(annotation, "__name__", None) == "SecretValue"


def emulate(module_name, function, in_dir, out_dir):
    install_secret_modules()
    try:
        module = importlib.import_module(module_name)
        func = getattr(module, function, None)
        if func is None or not callable(func):
            raise AttributeError(f"module {module_name!r} has no function {function!r}")
        params = {}
        for pname, param in inspect.signature(func).parameters.items():
            env_name = secret_env_name(pname)
            if env_name in os.environ:
                params[pname] = SecretValue(os.environ[env_name])
                continue
            if is_secret_annotation(param.annotation):
                raise ValueError(
                    f"Required secret parameter '{pname}' not found. "
                    f"Expected environment variable: {env_name}"
                )
            file = os.path.join(in_dir, pname + ".json")
            if os.path.exists(file):
                with open(file, encoding="utf-8") as f:
                    params[pname] = json.load(f)
        result = func(**params)
    except Exception as e:  # noqa: BLE001 - every failure becomes a problem document
        traceback.print_exc()
        sys.stderr.flush()
        write_problem(out_dir, e)
        return 1
    if result is None:
        return 0
    if isinstance(result, str):
        with open(os.path.join(out_dir, "output.txt"), "w", encoding="utf-8") as f:
            f.write(result)
        return 0
    try:
        text = json.dumps(result, default=str)
    except Exception as e:  # noqa: BLE001
        write_problem(out_dir, e)
        return 1
    with open(os.path.join(out_dir, "output.json"), "w", encoding="utf-8") as f:
        f.write(text)
    return 0


def parse_args(argv):
    """(folder for sys.path[0], module name, function) from the command line, or None."""
    if len(argv) == 4 and argv[1] == "--project":
        root, entrypoint = os.path.abspath(argv[2]), argv[3]
        module, _, function = entrypoint.partition(":")
        if not module or not function:
            return None
        return root, module, function
    if len(argv) == 3 and not argv[1].startswith("--"):
        path = os.path.abspath(argv[1])
        return os.path.dirname(path), os.path.splitext(os.path.basename(path))[0], argv[2]
    return None


def main():
    take_secrets()
    parsed = parse_args(sys.argv)
    if parsed is None:
        print(
            "usage: wfop_shim.py MODULE.py FUNCTION | wfop_shim.py --project DIR MODULE:FUNCTION",
            file=sys.stderr,
        )
        return 2
    root, module, function = parsed
    in_dir, out_dir = os.environ["INPUT_DIRECTORY"], os.environ["OUTPUT_DIRECTORY"]
    # sys.path[0] is the shim's own (private) folder: the service's folder replaces it.
    sys.path[0] = root
    runtime, runtime_root = real_runtime()
    if runtime is not None:
        print(f"wfop: handing over to {runtime_root}.commons", file=sys.stderr, flush=True)
        os.environ["ENTRYPOINT"] = module + ":" + function
        return runtime.main()
    return emulate(module, function, in_dir, out_dir)


if __name__ == "__main__":
    sys.exit(main())
