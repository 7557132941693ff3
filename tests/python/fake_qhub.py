"""A test fake of the hub runtime's ``qhub.commons.secret`` (and ``planqk.commons.secret``).

Behaves like the real ``SecretValue`` and like wfop's shim (docs/service-protocol.md): ``str`` is
``[redacted]``, ``repr`` is ``SecretValue([redacted])``, ``unwrap()`` works once and then raises
``ValueError("Secret is locked and cannot be unwrapped")``. ``install()`` puts it into
``sys.modules`` so that ``from qhub.commons.secret import SecretValue`` works in the services.
"""

import sys
import types


class SecretValue:
    __slots__ = ("_value", "_locked", "unwrap_calls")

    def __init__(self, value):
        self._value = value
        self._locked = False
        self.unwrap_calls = 0

    def unwrap(self):
        self.unwrap_calls += 1
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


def install():
    """Make ``qhub.commons.secret`` and ``planqk.commons.secret`` importable (idempotent)."""
    for root in ("qhub", "planqk"):
        if f"{root}.commons.secret" in sys.modules:
            continue
        top = sys.modules.setdefault(root, types.ModuleType(root))
        top.__path__ = []
        commons = types.ModuleType(f"{root}.commons")
        commons.__path__ = []
        secret = types.ModuleType(f"{root}.commons.secret")
        secret.SecretValue = SecretValue
        commons.secret = secret
        top.commons = commons
        sys.modules[f"{root}.commons"] = commons
        sys.modules[f"{root}.commons.secret"] = secret
