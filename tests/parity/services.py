"""Parity cases (tests/run_parity.rs, cases.json): handlers that need only the standard library
and the runtime's own module names; each shows one way the platform binds, returns or fails."""

import enum
import math
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple, Union
from uuid import UUID

from qhub.commons.datapool import DataPool
from qhub.commons.runtime import HandlerError
from qhub.commons.runtime.output import write_binary_output, write_string_output
from qhub.commons.secret import SecretValue


def echo_str(name: str):
    return {"name": name}


def echo_optional_str(name: Optional[str] = None):
    return {"name": name}


def echo_bool(flag: bool):
    return {"flag": flag}


def numbers(n: int, x: float):
    return {"n": n, "x": x, "product": n * x}


def plain_containers(items: list, options: dict):
    return {"items": items, "options": options, "types": [type(items).__name__,
                                                          type(options).__name__]}


def typed_generics(ints: List[int], scores: Dict[str, int], tags: Set[str], pair: Tuple[int, str],
                   many: Tuple[int, ...], frozen: FrozenSet[int]):
    return {"ints": ints, "scores": scores, "tags": sorted(tags), "pair": list(pair),
            "many": list(many), "frozen": sorted(frozen),
            "types": [type(v).__name__ for v in (ints, scores, tags, pair, many, frozen)]}


def builtin_generics(ints: list[int], weights: dict[str, float], maybe: int | None = None):
    return {"ints": ints, "weights": weights, "maybe": maybe}


def typed_list_items(words: List[str], anys: List[Any]):
    # List[str] items stay bare strings; List[Any] items are parsed again ("5" becomes 5).
    return {"words": words, "anys": anys, "types": [type(a).__name__ for a in anys]}


def bad_list_item(ints: List[int]):
    return ints


def plain_dict_gets_a_list(options: dict):
    return {"options": options}


def typing_dict_refuses_a_list(options: Dict):
    return {"options": options}


def plain_tuple(pair: tuple):
    return pair


def bad_int(n: int):
    return n


def union_int_str(value: Union[int, str]):
    return {"value": value, "type": type(value).__name__}


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def enums(by_value: Color, by_name: Color, level: Level):
    return {"by_value": by_value.name, "by_name": by_name.name, "level": level.name}


def bad_enum(color: Color):
    return color.name


def times(when: datetime, day: date, at: time, zulu: datetime):
    return {"when": when.isoformat(), "day": day.isoformat(), "at": at.isoformat(),
            "zulu": zulu.isoformat()}


def bad_date(day: date):
    return day.isoformat()


def date_from_number(day: date):
    return day.isoformat()


def scalars(id: UUID, amount: Decimal, where: Path, anything: Any, text_any: Any):
    return {"id": str(id), "version": id.version, "amount": str(amount * 2),
            "where": where.name, "anything": anything, "text_any": text_any}


def bad_uuid(id: UUID):
    return str(id)


def bad_decimal(amount: Decimal):
    return str(amount)


def optional_missing(count: Optional[int], label: str = "none", limit: int = 10):
    return {"count": count, "label": label, "limit": limit}


def optional_unparsable(count: Optional[int]):
    return {"count": count}


def unannotated(circuit):
    return circuit


def unannotated_default(circuit=None, shots=100):
    return {"circuit": circuit, "shots": shots}


def required_missing(circuit: dict, shots: int):
    return {"circuit": circuit, "shots": shots}


def extra_inputs_ignored(a: int, **rest):
    return {"a": a, "rest": rest}


def secret(circuit: dict, ibm_token: SecretValue):
    token = ibm_token.unwrap()
    try:
        ibm_token.unwrap()
        again = "unwrapped twice"
    except ValueError as e:
        again = str(e)
    return {"length": len(token), "shown": str(ibm_token), "repr": repr(ibm_token),
            "locked": ibm_token.is_locked, "again": again}


def secret_camel_case(ibmToken: SecretValue):
    return {"length": len(ibmToken.unwrap())}


def optional_secret(other_token: Optional[SecretValue] = None):
    return {"given": other_token is not None}


def required_secret(ibm_token: SecretValue):
    return {"given": True}


def secret_into_str(ibm_token: str):
    return {"length": len(ibm_token)}


def datapool(pool: DataPool):
    with pool.open("prices.csv") as f:
        first = f.readline().strip()
    return {"name": pool.name, "files": sorted(pool.list_files()), "first": first}


def optional_datapool_absent(missing_pool: Optional[DataPool] = None):
    return {"pool": missing_pool}


def required_datapool_absent(missing_pool: DataPool):
    return {"pool": missing_pool.name}


def returns_none(n: int):
    return None


def returns_str(n: int):
    return f"n is {n}"


def returns_int(n: int):
    return n * 2


def returns_float(n: int):
    return n / 4


def returns_bool(n: int):
    return n > 0


def returns_list(n: int):
    return list(range(n))


def returns_tuple(n: int):
    return (n, "n")


class StrColor(str, enum.Enum):
    BLUE = "blue"


def returns_str_enum(n: int):
    return StrColor.BLUE


def returns_nan(n: int):
    return {"nan": math.nan, "inf": math.inf, "minus_inf": -math.inf, "n": n}


def returns_float_nan(n: int):
    return math.nan


class Counts:
    def __init__(self, n):
        self.shots = n
        self.counts = {"00": n // 2, "11": n - n // 2}


class Opaque:
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __str__(self):
        return f"Opaque({self.n})"


def returns_object(n: int):
    return {"result": Counts(n), "opaque": Opaque(n), "ids": {3, 1, 2}, "when": date(2024, 1, 2)}


def returns_bare_object(n: int):
    return Counts(n)


def returns_unserializable_keys(n: int):
    return {(1, 2): n}


def extra_files(n: int):
    write_string_output("report.md", f"# Report\n\nn = {n}\n")
    write_binary_output("blob.bin", bytes(range(8)))
    return {"n": n}


def handler_error(n: int):
    raise HandlerError("Quota exceeded", f"{n} shots is over the quota",
                       {"code": "QUOTA", "limit": 1000, "backend": {"name": "ibm_brisbane"}})


def handler_error_title_only(n: int):
    raise HandlerError("Backend down")


def handler_error_reserved_key(n: int):
    raise HandlerError("Bad", "bad", {"status": 400})


def plain_exception(n: int):
    raise RuntimeError(f"simulator crashed at {n}")


def exception_without_message(n: int):
    raise KeyError()


class BackendDown(Exception):
    code = "BACKEND_DOWN"


def exception_with_code(n: int):
    raise BackendDown("ibm_brisbane is in maintenance")


def writes_output_then_fails(n: int):
    write_string_output("output.json", '{"partial": true}')
    raise ValueError("failed after writing output.json")


def handler_error_unserializable(n: int):
    raise HandlerError("Odd", "extension not JSON", {"when": object()})


def system_exit(n: int):
    raise SystemExit(3)


def extra_file_with_secret(ibm_token: SecretValue):
    write_string_output("token.txt", "token=" + ibm_token.unwrap() + "\n")
    return {"written": True}
