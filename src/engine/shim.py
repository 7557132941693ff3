"""wfop's embedded runtime shim for `run.python` and `run.project` services
(docs/service-protocol.md).

    python3 wfop_shim.py /path/to/module.py function
    python3 wfop_shim.py --project /path/to/project package.module:function

Both forms come down to a folder first on sys.path and an entrypoint `module:function` imported
by name from it (a plain module: its folder and its file's stem; a project: the project root and
its entrypoint, so `src` is a package and relative imports work, as on the platform).

First moves the node's secrets from the pipe named by $WFOP_SECRETS_FD into os.environ (see
take_secrets). Then, if the hub's own runtime (qhub.commons, or planqk.commons) is importable,
hands over to it with ENTRYPOINT=module:function, its loguru output at $LOG_LEVEL (INFO unless
set). Otherwise emulates qhub-commons 1.2.x case by case (the section "Emulation" below):
parameters bound by their type hints, SecretValue, DataPool, HandlerError, the output helpers,
results and problem documents written as the platform writes them. Both ways, wfop adds notes
on stderr (`wfop: ...`) where the platform's binding surprises people. Compiled into wfop;
written into each service's folder.
"""

import datetime as _dt
import decimal
import enum
import importlib
import importlib.util
import inspect
import json
import logging
import os
import pathlib
import re
import sys
import traceback
import types
import typing
import uuid

# The platform's defaults (qhub.commons.constants).
DEFAULTS = {
    "ENTRYPOINT": "user_code.src.program:run",
    "INPUT_DIRECTORY": "/var/runtime/input",
    "OUTPUT_DIRECTORY": "/var/runtime/output",
    "DATAPOOL_DIRECTORY": "/var/runtime/datapool",
    "LOG_LEVEL": "INFO",
}


def secret_env_name(name):
    """The hub's rule: UPPER names get SECRET_ + name; else _ before each capital, upper-cased."""
    if name.isupper() or (name.upper() == name and "_" in name):
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
    if fd == "0":
        # On a cluster (docs/executors.md): one line first on stdin, read a byte at a time so
        # that what follows stays for the service.
        line = bytearray()
        while True:
            b = os.read(0, 1)
            if not b or b == b"\n":
                break
            line += b
        data = bytes(line)
    else:
        with os.fdopen(int(fd), "rb", closefd=True) as f:
            data = f.read()
    for name, value in json.loads(data.decode("utf-8")).items():
        if name.startswith("SECRET_") and isinstance(value, str):
            os.environ[name] = value


def note(message):
    """One of wfop's own notes on stderr (the same with the emulation and the real runtime)."""
    print("wfop: " + message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Logging: the platform logs through loguru (default sink stderr); the emulation prints the same
# levels and messages in loguru's default layout, filtered by $LOG_LEVEL like the hand-over.

LEVELS = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "SUCCESS": 25, "WARNING": 30, "ERROR": 40,
          "CRITICAL": 50}


_LEVEL = []


def log_level():
    """$LOG_LEVEL as (name, number): a level name or a number; INFO when unset or unknown."""
    if not _LEVEL:
        _LEVEL.append(_read_level())
    return _LEVEL[0]


def _read_level():
    given = os.environ.get("LOG_LEVEL", DEFAULTS["LOG_LEVEL"]).strip().upper()
    if given in LEVELS:
        return given, LEVELS[given]
    if given.isdigit():
        return int(given), int(given)
    if given:
        note(f"LOG_LEVEL={given!r} is not a log level; INFO is used")
    return "INFO", LEVELS["INFO"]


def log(level, message):
    if LEVELS[level] < log_level()[1]:
        return
    now = _dt.datetime.now()
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
    print(f"{stamp} | {level:<8} | wfop.runtime:emulated - {message}", file=sys.stderr,
          flush=True)


def quiet_loguru():
    """The real runtime logs DEBUG by default (loguru's stock sink): down to $LOG_LEVEL."""
    try:
        from loguru import logger
    except ImportError:
        return
    level = log_level()[0]
    logger.remove()
    try:
        logger.add(sys.stderr, level=level)
    except (ValueError, TypeError):
        logger.add(sys.stderr, level="INFO")


# ---------------------------------------------------------------------------------------------
# Emulation: the public parts of qhub.commons 1.2.x (secret, datapool, runtime, runtime.error,
# runtime.output, runtime.input, constants), installed under qhub.commons and planqk.commons.

try:
    import pydantic as _pydantic

    BaseModel = _pydantic.BaseModel
except ImportError:  # the emulation works without pydantic; no class is a model then
    _pydantic = None

    class BaseModel:  # noqa: D101 - a stand-in nothing derives from
        pass


if _pydantic is not None:

    class SecretValue(BaseModel):
        """qhub.commons.secret.SecretValue: a pydantic model that never shows its value in
        str/repr or validation errors, unwraps once, and serializes as {"value": ...}."""

        model_config = _pydantic.ConfigDict(arbitrary_types_allowed=True,
                                            hide_input_in_errors=True)
        _value: str = _pydantic.PrivateAttr()
        _locked: bool = _pydantic.PrivateAttr(default=False)

        def __init__(self, value, **data):
            super().__init__(**data)
            self._value = value

        def unwrap(self):
            if self._locked:
                raise ValueError("Secret is locked and cannot be unwrapped")
            self._locked = True
            return self._value

        @property
        def is_locked(self):
            return self._locked

        def __str__(self):
            return "[redacted]"

        def __repr__(self):
            return "SecretValue([redacted])"

        @_pydantic.model_serializer
        def serialize_value(self):
            return {"value": self._value}

else:

    class SecretValue:
        """qhub.commons.secret.SecretValue without pydantic: never shows its value, unwraps
        once (and forgets it then), cannot be pickled."""

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


class DataPool:
    """qhub.commons.datapool.DataPool: a mounted folder of files, by parameter name."""

    def __init__(self, path):
        if not os.path.exists(path):
            raise FileNotFoundError(f'Path "{path}" does not exist')
        if not os.path.isdir(path):
            raise NotADirectoryError(f'Path "{path}" is not a directory')
        self._path = path
        self._name = os.path.basename(path)

    @property
    def name(self):
        return self._name

    @property
    def path(self):
        return self._path

    def list_files(self):
        found = {}
        for entry in os.listdir(self._path):
            full = os.path.join(self._path, entry)
            if os.path.isfile(full):
                found[entry] = full
        return found

    def open(self, name, mode="r"):
        full = os.path.join(self._path, name)
        if not os.path.isfile(full):
            raise FileNotFoundError(f'File "{name}" not found in data pool')
        return open(full, mode)


RESERVED_KEYS = frozenset({"type", "title", "detail", "status", "instance"})


class HandlerError(Exception):
    """qhub.commons.runtime.HandlerError: fails the service with an RFC 7807 document whose
    extensions become top-level members (the reserved keys are refused)."""

    def __init__(self, title, detail=None, extensions=None):
        super().__init__(title)
        self.title = title
        self.detail = title if detail is None else detail
        extra = dict(extensions) if extensions else {}
        clash = sorted(RESERVED_KEYS & set(extra))
        if clash:
            raise ValueError(
                "extensions must not contain reserved RFC 7807 keys: " + ", ".join(clash))
        self.extensions = extra


def build_problem_details(exc):
    """The problem document of an exception, as the platform builds it."""
    if isinstance(exc, HandlerError):
        doc = {"type": "about:blank", "status": 500, "title": exc.title, "detail": exc.detail}
        doc.update(exc.extensions)
        return doc
    title = type(exc).__name__
    return {"type": "about:blank", "status": 500, "title": title, "detail": str(exc) or title}


def with_code(build):
    """wfop's rule (docs/service-protocol.md, "Raising an error"): an exception with a
    non-empty string attribute `code` raises that error code; the document gets `code`."""

    def build_with_code(exc):
        doc = build(exc)
        code = getattr(exc, "code", None)
        if isinstance(doc, dict) and "code" not in doc and isinstance(code, str) and code:
            doc["code"] = code
        return doc

    return build_with_code


def _directory(path):
    if not os.path.isdir(path):
        raise ValueError(f'Path "{path}" must be a directory')
    return path


def write_str_to_file(directory, name, content):
    path = os.path.join(_directory(directory), name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)
    return path


def write_blob_to_file(directory, name, content):
    path = os.path.join(_directory(directory), name)
    with open(path, "wb") as f:
        f.write(content)
    return path


def write_problem_details(directory, problem):
    if os.path.exists(os.path.join(directory, "output.json")):
        log("WARNING", "Overwriting existing output.json with failure problem document.")
    return write_str_to_file(directory, "output.json", json.dumps(problem, indent=2))


def output_directory():
    return os.environ.get("OUTPUT_DIRECTORY", DEFAULTS["OUTPUT_DIRECTORY"])


def write_string_output(file_name, content):
    """qhub.commons.runtime.output.write_string_output: a text file in the output folder."""
    write_str_to_file(output_directory(), file_name, content)


def write_binary_output(file_name, content):
    """qhub.commons.runtime.output.write_binary_output: a binary file in the output folder."""
    write_blob_to_file(output_directory(), file_name, content)


def list_directory_files(directory, strip_extension_from_key=True):
    """{name up to its first dot: absolute path} of the regular files in `directory`."""
    _directory(directory)
    found = {}
    for entry in os.listdir(directory):
        full = os.path.join(directory, entry)
        if os.path.isfile(full):
            found[entry.split(".")[0] if strip_extension_from_key else entry] = \
                os.path.abspath(full)
    return found


def read_input_as_string(file_or_attribute, input_directories=None):
    """qhub.commons.runtime.input.read_input_as_string: an input file's text by its name."""
    if input_directories is None:
        input_directories = [os.environ.get("INPUT_DIRECTORY", DEFAULTS["INPUT_DIRECTORY"])]
    for candidate in input_directories:
        if os.path.exists(candidate):
            directory = os.path.abspath(candidate)
            break
    else:
        raise FileNotFoundError(f"None of the input directories exist: {input_directories}")
    name = file_or_attribute.split(".")[0]
    files = list_directory_files(directory)
    if name not in files:
        raise FileNotFoundError(f"File '{name}' not found in input directory '{directory}'")
    with open(files[name]) as f:
        return f.read()


def install_modules():
    """Makes qhub.commons.{secret,datapool,constants,runtime,runtime.error,runtime.output,
    runtime.input} (and the same under planqk.commons) the emulated ones."""
    contents = {
        "commons": {"__version__": "1.2.x (wfop emulation)"},
        "commons.secret": {"SecretValue": SecretValue},
        "commons.datapool": {"DataPool": DataPool},
        "commons.constants": {
            "LOG_LEVEL_ENV": "LOG_LEVEL", "DEFAULT_LOG_LEVEL": "INFO",
            "ENTRYPOINT_ENV": "ENTRYPOINT", "DEFAULT_ENTRYPOINT": DEFAULTS["ENTRYPOINT"],
            "INPUT_DIRECTORY_ENV": "INPUT_DIRECTORY",
            "DEFAULT_INPUT_DIRECTORY": DEFAULTS["INPUT_DIRECTORY"],
            "OUTPUT_DIRECTORY_ENV": "OUTPUT_DIRECTORY",
            "DEFAULT_OUTPUT_DIRECTORY": DEFAULTS["OUTPUT_DIRECTORY"],
            "DATAPOOL_DIRECTORY_ENV": "DATAPOOL_DIRECTORY",
            "DEFAULT_DATAPOOL_DIRECTORY": DEFAULTS["DATAPOOL_DIRECTORY"],
            "SECRETS_PROPERTY_NAME": "$secrets", "SECRET_ENV_VAR_PREFIX": "SECRET_",
        },
        "commons.runtime": {"HandlerError": HandlerError, "__all__": ["HandlerError"]},
        "commons.runtime.error": {
            "HandlerError": HandlerError, "RESERVED_KEYS": RESERVED_KEYS,
            "build_problem_details": build_problem_details,
            "write_problem_details": write_problem_details,
        },
        "commons.runtime.output": {"write_string_output": write_string_output,
                                   "write_binary_output": write_binary_output},
        "commons.runtime.input": {"read_input_as_string": read_input_as_string},
    }
    for root in ("qhub", "planqk"):
        if root not in sys.modules:
            try:
                importlib.import_module(root)  # a real namespace package (e.g. qhub.service)
            except ImportError:
                top = types.ModuleType(root)
                top.__path__ = []
                sys.modules[root] = top
        for tail, attrs in contents.items():
            name = root + "." + tail
            module = types.ModuleType(name)
            module.__path__ = []
            module.__dict__.update(attrs)
            sys.modules[name] = module
            parent, _, leaf = name.rpartition(".")
            setattr(sys.modules[parent], leaf, module)
    SecretValue.__module__ = "qhub.commons.secret"
    DataPool.__module__ = "qhub.commons.datapool"
    HandlerError.__module__ = "qhub.commons.runtime.error"


# ---------------------------------------------------------------------------------------------
# Binding: one converter per kind of type hint, tried in the platform's order; the first whose
# test accepts the hint converts the input file's text (qhub.commons.parameters).

_NONE = type(None)
_UNIONS = tuple(u for u in (typing.Union, getattr(types, "UnionType", None)) if u is not None)
origin_of, args_of = typing.get_origin, typing.get_args


def _json_or_text(data):
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        return data


def _json_value(text):
    """(True, value) when `text` is JSON, else (False, None)."""
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def _item(value):
    """An element of a parsed container as text for its own converter (strings stay bare)."""
    return value if isinstance(value, str) else json.dumps(value)


def _parsed(data, hint, kind, want=list, article="list data for type"):
    try:
        value = json.loads(data)
    except json.JSONDecodeError as e:
        raise ValueError(f"Invalid JSON data for {kind}{hint}: {e}") from e
    if not isinstance(value, want):
        raise ValueError(f"Expected {article} {hint}, got {type(value).__name__}")
    return value


def _convert_items(values, hints, failure):
    out = []
    for i, (value, hint) in enumerate(zip(values, hints)):
        try:
            out.append(convert(_item(value), hint))
        except (ValueError, TypeError) as e:
            raise ValueError(failure(i, hint) + f": {e}") from e
    return out


def _union(data, hint):
    members = args_of(hint)
    if is_optional(hint):
        inner = next(m for m in members if m is not _NONE)
        try:
            return convert(data, inner)
        except (ValueError, TypeError):
            return None
    for member in members:
        try:
            return convert(data, member)
        except (ValueError, TypeError):
            continue
    raise ValueError(f"Could not convert data to any type in Union {members}")


def _tuple(data, hint):
    values = _parsed(data, hint, "tuple type ", article="list data for tuple type")
    members = args_of(hint)
    if not members:
        return tuple(values)
    if len(members) == 2 and members[1] is Ellipsis:
        return tuple(_convert_items(values, [members[0]] * len(values),
                                    lambda i, h: f"Failed to convert tuple item {i} to type {h}"))
    if len(values) != len(members):
        raise ValueError(
            f"Tuple length mismatch: expected {len(members)} items, got {len(values)}")
    return tuple(_convert_items(values, members,
                                lambda i, h: f"Failed to convert tuple item {i} to type {h}"))


def _is_set(hint):
    return origin_of(hint) in (set, frozenset) or (
        isinstance(hint, type) and issubclass(hint, (set, frozenset)))


def _set(data, hint):
    values = _parsed(data, hint, "set type ", article="list data for set type")
    members = args_of(hint)
    if not members:
        return frozenset(values) if hint is frozenset else set(values)
    values = _convert_items(values, [members[0]] * len(values),
                            lambda i, h: f"Failed to convert set item {i} to type {h}")
    return frozenset(values) if frozenset in (origin_of(hint), hint) else set(values)


def _dict(data, hint):
    values = _parsed(data, hint, "dict type ", want=dict, article="dict data for type")
    members = args_of(hint)
    if len(members) < 2:
        return values
    key_hint, value_hint = members[0], members[1]
    out = {}
    for key, value in values.items():
        try:
            new_key = key if key_hint is str else convert(str(key), key_hint)
            out[new_key] = convert(_item(value), value_hint)
        except (ValueError, TypeError) as e:
            raise ValueError(f"Failed to convert dict item '{key}' to type {value_hint}: {e}") \
                from e
    return out


def _list(data, hint):
    values = _parsed(data, hint, "list type ")
    members = args_of(hint)
    if not members:
        return values
    return _convert_items(values, [members[0]] * len(values),
                          lambda i, h: f"Failed to convert item {i} in list to type {h}")


def _subclass_of(bases):
    def test(hint):
        try:
            return isinstance(hint, type) and issubclass(hint, bases)
        except TypeError:
            return False

    return test


def _enum(data, hint):
    value = _json_or_text(data)
    try:
        return hint(value)
    except ValueError:
        try:
            return hint[str(value)]
        except (KeyError, ValueError) as e:
            raise ValueError(
                f"Invalid enum value '{value}' for {hint.__name__}. "
                f"Valid values: {[m.value for m in hint]}, valid names: {[m.name for m in hint]}"
            ) from e


def _string_from_json(data, what):
    """The text itself, or the string a JSON string holds; a JSON non-string is refused."""
    try:
        value = json.loads(data)
    except json.JSONDecodeError:
        return data
    if not isinstance(value, str):
        raise ValueError(f"Expected string for {what}, got {type(value).__name__}")
    return value


def _parse_first(text, parsers):
    """The first parser's value; when it raises ValueError the next's (the last's error
    escapes)."""
    for parser in parsers[:-1]:
        try:
            return parser(text)
        except ValueError:
            continue
    return parsers[-1](text)


def _datetime(data, hint):
    text = data
    try:
        text = _string_from_json(data, hint.__name__)
        strp = _dt.datetime.strptime
        if hint is _dt.datetime:
            return _parse_first(text, [
                lambda t: _dt.datetime.fromisoformat(t.replace("Z", "+00:00")),
                lambda t: strp(t, "%Y-%m-%d %H:%M:%S"),
                lambda t: strp(t, "%Y-%m-%dT%H:%M:%S"),
            ])
        if hint is _dt.date:
            return _parse_first(text, [_dt.date.fromisoformat,
                                       lambda t: strp(t, "%Y-%m-%d").date()])
        return _parse_first(text, [_dt.time.fromisoformat, lambda t: strp(t, "%H:%M:%S").time()])
    except (ValueError, TypeError) as e:
        raise ValueError(f"Invalid {hint.__name__} format '{text}': {e}") from e


def _uuid(data, hint):
    text = data
    try:
        text = _string_from_json(data, "UUID")
        return uuid.UUID(text)
    except ValueError as e:
        raise ValueError(f"Invalid UUID format '{text}': {e}") from e


def _decimal(data, hint):
    text = data
    try:
        return decimal.Decimal(str(_json_or_text(data)))
    except (ValueError, TypeError) as e:
        raise ValueError(f"Invalid Decimal format '{text}': {e}") from e


def _path(data, hint):
    text = data
    try:
        text = _string_from_json(data, hint.__name__)
        return hint(text)
    except (ValueError, TypeError) as e:
        raise ValueError(f"Invalid {hint.__name__} format '{text}': {e}") from e


def _primitive(data, hint):
    if issubclass(hint, str):
        return data
    if issubclass(hint, bool):
        return bool(data)
    if issubclass(hint, int):
        return int(data)
    return float(data)


def _default(data, hint):
    try:
        return json.loads(data)
    except json.JSONDecodeError as e:
        raise ValueError(f"Invalid JSON data for type {hint}: {e}") from e


CONVERTERS = [
    (lambda h: origin_of(h) in _UNIONS, _union),
    (lambda h: origin_of(h) is tuple, _tuple),
    (_is_set, _set),
    (lambda h: origin_of(h) is dict, _dict),
    (lambda h: origin_of(h) is list, _list),
    (_subclass_of(enum.Enum), _enum),
    (lambda h: h in (_dt.datetime, _dt.date, _dt.time), _datetime),
    (lambda h: h is uuid.UUID, _uuid),
    (lambda h: h is decimal.Decimal, _decimal),
    (_subclass_of((pathlib.Path, pathlib.PurePath)), _path),
    (lambda h: h is typing.Any, lambda data, h: _json_or_text(data)),
    (lambda h: isinstance(h, type) and issubclass(h, (str, int, float, bool)), _primitive),
    (_subclass_of(BaseModel), lambda data, h: h.model_validate_json(data)),
    (lambda h: isinstance(h, type) and issubclass(h, (list, dict)), _default),
]


def convert(data, hint):
    """The input text `data` as a value of the type hint `hint`, as the platform binds it."""
    for accepts, conversion in CONVERTERS:
        if accepts(hint):
            return conversion(data, hint)
    raise ValueError(f"Type {hint} is not supported")


def is_optional(hint):
    members = args_of(hint)
    return origin_of(hint) in _UNIONS and len(members) == 2 and _NONE in members


def _is_or_holds(hint, cls):
    """`hint` is `cls`, or a Union with `cls` among its members (the platform's identity test)."""
    if origin_of(hint) in _UNIONS:
        return any(m is cls for m in args_of(hint) if m is not _NONE)
    return hint is cls


def default_for(param):
    """A parameter without an input: its default, None when Optional, an all-default model
    from `{}`; TypeError when none (the parameter is then left out)."""
    hint = param.annotation
    if param.default != param.empty:
        return param.default
    if is_optional(hint):
        return None
    if issubclass(hint, BaseModel):
        return hint.model_validate_json("{}")
    raise TypeError(f"Could not find a default value for parameter '{param.name}' of type "
                    f"'{hint}'")


def bind(files, signature):
    """The keyword arguments for the entrypoint (qhub.commons.parameters.files_to_parameters).
    Errors escape, as on the platform: the service fails before it runs, with a traceback."""
    found = {}
    log("DEBUG", f"Found input files: {list(files)}")
    log("DEBUG", f"Parameters in signature: {list(signature.parameters)}")
    for param in signature.parameters.values():
        name, hint = param.name, param.annotation
        if _is_or_holds(hint, DataPool):
            folder = os.environ.get("DATAPOOL_DIRECTORY", DEFAULTS["DATAPOOL_DIRECTORY"])
            try:
                found[name] = DataPool(os.path.join(folder, name))
            except (FileNotFoundError, NotADirectoryError) as e:
                log("WARNING", f"DataPool directory not found for parameter '{name}': {e}")
                if not is_optional(hint):
                    raise
                found[name] = None
            continue
        if _is_or_holds(hint, SecretValue):
            variable = secret_env_name(name)
            try:
                if variable not in os.environ:
                    raise KeyError(
                        f"Environment variable '{variable}' not found for parameter '{name}'")
                found[name] = SecretValue(value=os.environ[variable])
            except KeyError as e:
                log("WARNING",
                    f"Environment variable not found for secret parameter '{name}': {e}")
                if not is_optional(hint):
                    raise ValueError(f"Required secret parameter '{name}' not found. "
                                     f"Expected environment variable: {variable}") from e
                found[name] = None
            continue
        if name not in files:
            try:
                found[name] = default_for(param)
            except TypeError:
                pass
            continue
        with open(files[name], encoding="utf-8") as f:
            found[name] = convert(f.read(), hint)
    return found


# ---------------------------------------------------------------------------------------------
# wfop's notes: where the platform's binding does what a service's author rarely means. Printed
# before binding, with the emulation and with the real runtime alike.


def _name_is(hint, name):
    members = args_of(hint) if origin_of(hint) in _UNIONS else (hint,)
    return any(getattr(m, "__name__", None) == name for m in members)


def binding_notes(files, signature):
    for param in signature.parameters.values():
        name, hint = param.name, param.annotation
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if _name_is(hint, "SecretValue") or _name_is(hint, "DataPool"):
            continue
        if secret_env_name(name) in os.environ:
            note(f"parameter '{name}' is given a secret, but the platform passes secrets only "
                 f"to parameters annotated SecretValue (or Optional[SecretValue]); "
                 f"it gets no secret")
        if name not in files:
            continue
        if hint is param.empty:
            note(f"parameter '{name}' has no type annotation; the platform binds inputs by "
                 f"annotation and refuses it (annotate it, e.g. dict or Any)")
            continue
        if isinstance(hint, str):
            note(f"parameter '{name}' has the string annotation '{hint}' (from __future__ "
                 f"import annotations?); the platform does not resolve it and refuses it")
            continue
        inner = next((m for m in args_of(hint) if m is not _NONE), hint) \
            if is_optional(hint) else hint
        if not isinstance(inner, type) or issubclass(inner, enum.Enum):
            continue
        if issubclass(inner, bool):
            text = _read(files[name])
            if bool(text) and _json_value(text) != (True, True):
                shown = text.strip() if len(text.strip()) <= 20 else "its input"
                note(f"parameter '{name}' is a bool: the platform binds bool(text of the "
                     f"input), so {shown} is True")
        elif issubclass(inner, str):
            ok, value = _json_value(_read(files[name]))
            if ok and isinstance(value, str):
                note(f"parameter '{name}' is a str: the platform passes the input's JSON text, "
                     f"quotes included (annotate it Any for the string itself)")


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return ""


# ---------------------------------------------------------------------------------------------
# Results (qhub.commons.json.any_to_json, parameters.is_simple_type) and the whole run
# (qhub.commons.runtime.main.main).


def any_to_json(value):
    if value is None:
        return None
    if issubclass(value.__class__, BaseModel):
        return value.model_dump_json(indent=2)

    def fallback(obj):
        return getattr(obj, "__dict__", str(obj))

    return json.dumps(value, default=fallback, indent=2)


def is_simple_type(value):
    return isinstance(value, (str, int, float, bool))


def resolve(entrypoint):
    module_name, function = entrypoint.split(":")
    return getattr(importlib.import_module(module_name), function)


def emulate(entrypoint):
    install_modules()
    function = resolve(entrypoint)
    signature = inspect.signature(function)
    log("DEBUG", f"Entrypoint: {entrypoint}")
    in_dir = os.environ.get("INPUT_DIRECTORY", DEFAULTS["INPUT_DIRECTORY"])
    out_dir = output_directory()
    files = list_directory_files(in_dir)
    log("DEBUG", f"Input files: {list(files.values())}")
    binding_notes(files, signature)
    arguments = bind(files, signature)
    try:
        value = function(**{k: v for k, v in arguments.items() if k in signature.parameters})
    except Exception as e:  # noqa: BLE001 - every failure of the handler becomes a document
        log("ERROR", f"{e}")
        if logging.getLogger("main").isEnabledFor(logging.ERROR):
            traceback.print_exc()
        try:
            write_problem_details(out_dir, with_code(build_problem_details)(e))
        except Exception as w:  # noqa: BLE001
            log("ERROR", f"Failed to write failure output.json (original={type(e).__name__}, "
                         f"writer_error={type(w).__name__}): {w}")
        return 1
    log("DEBUG", f"Return type: {type(value)}")
    text = any_to_json(value)
    if text is None:
        return 0
    path = write_str_to_file(out_dir, "output.txt" if is_simple_type(value) else "output.json",
                             text)
    log("DEBUG", f"Output file: {path}")
    return 0


def real_runtime():
    for root in ("qhub", "planqk"):
        try:
            return importlib.import_module(root + ".commons.runtime.main"), root
        except ImportError:
            continue
    return None, None


class LegacyNames:
    """Import hook: `planqk.commons.*` are the real `qhub.commons.*` modules when only the
    newer package is installed (services written for the older runtime run unchanged)."""

    def __init__(self, old, new):
        self.old, self.new = old, new

    def find_spec(self, name, path=None, target=None):
        if name == self.old or name.startswith(self.old + ".commons"):
            return importlib.util.spec_from_loader(name, self, is_package=True)
        return None

    def create_module(self, spec):
        if spec.name == self.old:
            module = types.ModuleType(self.old)
            module.__path__ = []
            return module
        return importlib.import_module(self.new + spec.name[len(self.old):])

    def exec_module(self, module):
        pass


def hand_over(runtime, root):
    """Runs the real runtime's main() with wfop's notes and `code` rule hooked in."""
    quiet_loguru()
    other = "planqk" if root == "qhub" else "qhub"
    try:
        missing = importlib.util.find_spec(other) is None
    except (ImportError, ValueError):
        missing = False
    if missing:
        sys.meta_path.insert(0, LegacyNames(other, root))
    binder = getattr(runtime, "files_to_parameters", None)
    if callable(binder):

        def files_to_parameters(files, signature):
            binding_notes(files, signature)
            return binder(files, signature)

        runtime.files_to_parameters = files_to_parameters
    builder = getattr(runtime, "build_problem_details", None)
    if callable(builder):
        runtime.build_problem_details = with_code(builder)
    return runtime.main()


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
    # sys.path[0] is the shim's own (private) folder: the service's folder replaces it.
    sys.path[0] = root
    entrypoint = module + ":" + function
    runtime, runtime_root = real_runtime()
    if runtime is not None:
        print(f"wfop: handing over to {runtime_root}.commons", file=sys.stderr, flush=True)
        os.environ["ENTRYPOINT"] = entrypoint
        return hand_over(runtime, runtime_root)
    return emulate(entrypoint)


if __name__ == "__main__":
    sys.exit(main())
