"""Test stand-in for wfop's embedded Python shim (DESIGN.md section 5), stdlib only.

    python3 shim.py path/to/module.py function

Binds the function's parameters by name from $INPUT_DIRECTORY/<name>.json; a parameter with a
SECRET_<NAME> environment variable becomes a SecretValue (the fake from fake_qhub). Writes the
result to $OUTPUT_DIRECTORY/output.json (a str to output.txt); on an exception writes a problem
document and exits 1.
"""

import importlib.util
import inspect
import json
import os
import sys
import traceback

import fake_qhub
from support import secret_env_name

fake_qhub.install()


def main():
    path, function = sys.argv[1], sys.argv[2]
    in_dir, out_dir = os.environ["INPUT_DIRECTORY"], os.environ["OUTPUT_DIRECTORY"]
    spec = importlib.util.spec_from_file_location(
        os.path.splitext(os.path.basename(path))[0], path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    func = getattr(module, function)
    params = {}
    for name in inspect.signature(func).parameters:
        env_name = secret_env_name(name)
        if env_name in os.environ:
            params[name] = fake_qhub.SecretValue(os.environ.pop(env_name))
            continue
        file = os.path.join(in_dir, f"{name}.json")
        if os.path.exists(file):
            with open(file, encoding="utf-8") as f:
                params[name] = json.load(f)
    try:
        result = func(**params)
    except Exception as e:  # noqa: BLE001 - every failure becomes a problem document
        traceback.print_exc()
        with open(os.path.join(out_dir, "output.json"), "w", encoding="utf-8") as f:
            json.dump({"title": type(e).__name__, "detail": str(e)}, f)
        sys.exit(1)
    if isinstance(result, str):
        with open(os.path.join(out_dir, "output.txt"), "w", encoding="utf-8") as f:
            f.write(result)
    elif result is not None:
        with open(os.path.join(out_dir, "output.json"), "w", encoding="utf-8") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
