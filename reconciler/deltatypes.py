"""Delta / Spark SQL column types: parse, canonicalise, describe, and judge a change.

One pure module shared by the spec side (``kinds/columns.py``: validation with
file:line, the plan's verdicts) and the emulator (storage in Unity Catalog's
``type_text`` / ``type_name`` / ``type_json`` shapes), so both agree on what a
type is.

Grammar (case-insensitive, whitespace free)::

    type    := simple | decimal[(p[,s])] | char(n) | varchar(n) | interval qualifier
             | array<type> | map<type,type> | struct<[field[, field]...]>
    field   := name[:] type [NOT NULL] [COMMENT 'text']

Canonical text is lower case without spaces except inside struct fields:
``ARRAY< FLOAT >`` → ``array<float>``, ``STRUCT<a: INT NOT NULL COMMENT 'x'>`` →
``struct<a:int not null comment 'x'>``. Aliases fold (``integer`` → ``int``,
``long`` → ``bigint``, ``dec``/``numeric`` → ``decimal``, bare ``decimal`` →
``decimal(10,0)``).

Delta Lake does not store ``INTERVAL`` columns, and ``VOID`` only as a
top-level column (not inside arrays, maps or structs, not as every column):
:func:`table_problem` says so for a column list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SIMPLE = {
    "string": "STRING",
    "tinyint": "BYTE",
    "smallint": "SHORT",
    "int": "INT",
    "bigint": "LONG",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP_NTZ",
    "binary": "BINARY",
    "variant": "VARIANT",
    "void": "NULL",
}
ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "smallint",
    "byte": "tinyint",
    "bool": "boolean",
    "real": "float",
    "null": "void",
    "timestamp_ltz": "timestamp",
    "dec": "decimal",
    "numeric": "decimal",
    "character": "char",
}
SPARK_JSON = {
    "tinyint": "byte",
    "smallint": "short",
    "int": "integer",
    "bigint": "long",
}
INTEGER_BITS = {"tinyint": 8, "smallint": 16, "int": 32, "bigint": 64}
INTERVAL_UNITS = ("year", "month", "day", "hour", "minute", "second")
MAX_DEPTH = 32
MAX_LENGTH = 10_000


@dataclass(frozen=True)
class Simple:
    """A type without parts: ``int``, ``decimal(10,2)``, ``varchar(20)``, ``interval day``."""

    text: str


@dataclass(frozen=True)
class Array:
    element: DeltaType


@dataclass(frozen=True)
class Map:
    key: DeltaType
    value: DeltaType


@dataclass(frozen=True)
class StructField:
    name: str
    type: DeltaType
    nullable: bool = True
    comment: str | None = None


@dataclass(frozen=True)
class Struct:
    fields: tuple[StructField, ...]


DeltaType = Simple | Array | Map | Struct

_TOKEN = re.compile(r"\s*(?:(`(?:[^`]|``)*`)|('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(\w+)|(.))")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
        token = next((g for g in match.groups() if g is not None), "")
        if token:
            tokens.append(token)
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ValueError(f"type is longer than {MAX_LENGTH} characters")
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at].lower() if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at] if self.at < len(self.tokens) else ""
        if expected is not None and token.lower() != expected:
            found = f"{token!r}" if token else "the end"
            raise ValueError(f"expected {expected!r} but found {found}")
        if not token:
            raise ValueError("the type ends too early")
        self.at += 1
        return token

    def number(self) -> int:
        token = self.take()
        if not token.isdigit():
            raise ValueError(f"expected a number but found {token!r}")
        return int(token)

    def parse(self) -> DeltaType:
        result = self.type(0)
        if self.at != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.at]!r} after the type")
        return result

    def type(self, depth: int) -> DeltaType:
        if depth > MAX_DEPTH:
            raise ValueError(f"types nest deeper than {MAX_DEPTH} levels")
        word = self.take().lower()
        word = ALIASES.get(word, word)
        if word == "array":
            self.take("<")
            element = self.type(depth + 1)
            self.take(">")
            return Array(element)
        if word == "map":
            self.take("<")
            key = self.type(depth + 1)
            self.take(",")
            value = self.type(depth + 1)
            self.take(">")
            return Map(key, value)
        if word == "struct":
            return self.struct(depth)
        return self.simple(word)

    def struct(self, depth: int) -> Struct:
        self.take("<")
        fields: list[StructField] = []
        while self.peek() != ">":
            if fields:
                self.take(",")
            fields.append(self.field(depth))
        self.take(">")
        names = [f.name.lower() for f in fields]
        if len(set(names)) != len(names):
            raise ValueError("a struct names a field twice")
        return Struct(tuple(fields))

    def field(self, depth: int) -> StructField:
        raw = self.take()
        if raw in ("<", ">", ",", ":"):
            raise ValueError(f"expected a field name but found {raw!r}")
        name = raw[1:-1].replace("``", "`") if raw.startswith("`") else raw
        if not raw.startswith("`") and not re.fullmatch(r"\w+", raw):
            raise ValueError(f"field name {raw!r} is not an identifier")
        if self.peek() == ":":
            self.take()
        field_type = self.type(depth + 1)
        nullable, comment = True, None
        while self.peek() in ("not", "comment"):
            if self.take().lower() == "not":
                self.take("null")
                nullable = False
            else:
                literal = self.take()
                if literal[:1] not in ("'", '"'):
                    raise ValueError("COMMENT needs a quoted string")
                comment = re.sub(r"\\(.)", r"\1", literal[1:-1])
        return StructField(name, field_type, nullable, comment)

    def simple(self, word: str) -> Simple:
        if word in SIMPLE:
            return Simple(word)
        if word == "decimal":
            precision, scale = 10, 0
            if self.peek() == "(":
                self.take()
                precision = self.number()
                if self.peek() == ",":
                    self.take()
                    scale = self.number()
                self.take(")")
            if not 1 <= precision <= 38 or scale > precision:
                raise ValueError("decimal(p,s) needs 1 <= precision <= 38 and scale <= precision")
            return Simple(f"decimal({precision},{scale})")
        if word in ("char", "varchar"):
            self.take("(")
            length = self.number()
            self.take(")")
            if not 1 <= length <= 65_535:
                raise ValueError(f"{word}(n) needs 1 <= n <= 65535")
            return Simple(f"{word}({length})")
        if word == "interval":
            return self.interval()
        raise ValueError(
            f"unknown type {word!r}; use a Delta type: string, int, bigint, double, "
            "decimal(p,s), boolean, date, timestamp, array<T>, map<K,V>, struct<...> (and more)"
        )

    def interval(self) -> Simple:
        start = self.take().lower()
        if start not in INTERVAL_UNITS:
            raise ValueError(f"interval needs a unit (year, month, day, ...), got {start!r}")
        end = start
        if self.peek() == "to":
            self.take()
            end = self.take().lower()
        year_month = ("year", "month")
        ok = end in INTERVAL_UNITS and (
            (start in year_month) == (end in year_month)
            and INTERVAL_UNITS.index(end) >= INTERVAL_UNITS.index(start)
        )
        if not ok:
            raise ValueError(f"interval {start} to {end} is not a valid interval qualifier")
        return Simple(f"interval {start}" if start == end else f"interval {start} to {end}")


def parse(text: str) -> DeltaType:
    """The type ``text`` names; ValueError says what is wrong (``array<`` → ends too early)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a column type is required")
    try:
        return _Parser(text).parse()
    except ValueError as exc:
        raise ValueError(f"malformed column type {text!r}: {exc}") from None


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else "`" + name.replace("`", "``") + "`"


def render(value: DeltaType) -> str:
    """Canonical text of a parsed type."""
    if isinstance(value, Simple):
        return value.text
    if isinstance(value, Array):
        return f"array<{render(value.element)}>"
    if isinstance(value, Map):
        return f"map<{render(value.key)},{render(value.value)}>"
    parts = []
    for f in value.fields:
        part = f"{_quote(f.name)}:{render(f.type)}"
        if not f.nullable:
            part += " not null"
        if f.comment is not None:
            escaped = f.comment.replace("\\", "\\\\").replace("'", "\\'")
            part += f" comment '{escaped}'"
        parts.append(part)
    return "struct<" + ",".join(parts) + ">"


def canonical(text: str) -> str:
    """``text`` in canonical form (``ARRAY< FLOAT >`` → ``array<float>``), or ValueError."""
    return render(parse(text))


def type_name(value: DeltaType) -> str:
    """Unity Catalog's ``type_name`` (the upper-case family)."""
    if isinstance(value, Array):
        return "ARRAY"
    if isinstance(value, Map):
        return "MAP"
    if isinstance(value, Struct):
        return "STRUCT"
    text = value.text
    if text.startswith("decimal"):
        return "DECIMAL"
    if text.startswith("interval"):
        return "INTERVAL"
    if text.startswith("char"):
        return "CHAR"
    if text.startswith("varchar"):
        return "STRING"
    return SIMPLE[text]


def spark_json(value: DeltaType) -> Any:
    """The type as Spark's schema JSON (``{"type": "array", "elementType": ...}``)."""
    if isinstance(value, Array):
        return {"type": "array", "elementType": spark_json(value.element), "containsNull": True}
    if isinstance(value, Map):
        return {
            "type": "map",
            "keyType": spark_json(value.key),
            "valueType": spark_json(value.value),
            "valueContainsNull": True,
        }
    if isinstance(value, Struct):
        return {"type": "struct", "fields": [field_json(f) for f in value.fields]}
    text = value.text
    if text.startswith(("char", "varchar")):
        return "string"
    return SPARK_JSON.get(text, text)


def field_json(f: StructField) -> dict[str, Any]:
    """One field (or a column) as Spark's schema JSON, as in Unity Catalog's ``type_json``."""
    metadata: dict[str, Any] = {}
    if f.comment:
        metadata["comment"] = f.comment
    if isinstance(f.type, Simple) and f.type.text.startswith(("char", "varchar")):
        metadata["__CHAR_VARCHAR_TYPE_STRING"] = f.type.text
    return {
        "name": f.name,
        "type": spark_json(f.type),
        "nullable": f.nullable,
        "metadata": metadata,
    }


def _walk(value: DeltaType, depth: int = 0) -> list[tuple[DeltaType, int]]:
    found: list[tuple[DeltaType, int]] = [(value, depth)]
    if isinstance(value, Array):
        found += _walk(value.element, depth + 1)
    elif isinstance(value, Map):
        found += _walk(value.key, depth + 1) + _walk(value.value, depth + 1)
    elif isinstance(value, Struct):
        for f in value.fields:
            found += _walk(f.type, depth + 1)
    return found


def _only_void(value: DeltaType) -> bool:
    return isinstance(value, Simple) and value.text == "void"


def column_problem(value: DeltaType) -> str | None:
    """Why a Delta table cannot have a column of this type, or None."""
    for part, depth in _walk(value):
        if isinstance(part, Simple) and part.text.startswith("interval"):
            return f"Delta Lake does not store {part.text.upper()} columns; use a bigint or string"
        if _only_void(part) and depth > 0:
            return "VOID is not allowed inside arrays, maps or structs"
        if (
            isinstance(part, Struct)
            and part.fields
            and all(_only_void(f.type) for f in part.fields)
        ):
            return "a struct cannot have only VOID fields"
    return None


def table_problem(types: list[DeltaType]) -> str | None:
    """Why a Delta table cannot have these column types, or None."""
    for value in types:
        problem = column_problem(value)
        if problem:
            return problem
    if types and all(_only_void(t) for t in types):
        return "a table cannot have only VOID columns"
    return None


# ---- changes ----------------------------------------------------------------------------


def _decimal(text: str) -> tuple[int, int]:
    precision, scale = text[len("decimal(") : -1].split(",")
    return int(precision), int(scale)


def _widens_simple(old: str, new: str) -> bool:
    if old == new or old == "void":
        return True
    if old in INTEGER_BITS and new in INTEGER_BITS:
        return INTEGER_BITS[new] > INTEGER_BITS[old]
    if (old, new) == ("float", "double"):
        return True
    if old.startswith("decimal") and new.startswith("decimal"):
        (p_old, s_old), (p_new, s_new) = _decimal(old), _decimal(new)
        return s_old == s_new and p_new >= p_old
    return False


def change_reason(old: DeltaType, new: DeltaType, where: str) -> tuple[bool, str]:
    """``(in_place, reason)`` for a column (or field) changing type ``old`` → ``new``.

    In place: equal types, a simple widening (int family up, float → double,
    decimal precision up at the same scale, void → anything), struct fields
    added at the end (nullable), nested NOT NULL relaxed or comments changed.
    Everything else — an array element or map key/value type changed, a struct
    field dropped, renamed, moved, narrowed or made NOT NULL — rewrites the rows.
    """
    a, b = render(old), render(new)
    if a == b:
        return True, f"{where} unchanged"
    if isinstance(old, Simple) and isinstance(new, Simple):
        if _widens_simple(old.text, new.text):
            return True, f"{where} type widened {a} → {b}"
        return False, f"{where} type narrowed or changed {a} → {b}"
    if isinstance(old, Struct) and isinstance(new, Struct):
        return _struct_change(old, new, where)
    if isinstance(old, Array) and isinstance(new, Array):
        if isinstance(old.element, Struct) and isinstance(new.element, Struct):
            return _struct_change(old.element, new.element, f"{where} element")
        return False, f"{where} element type changed {render(old.element)} → {render(new.element)}"
    if isinstance(old, Map) and isinstance(new, Map):
        if render(old.key) != render(new.key):
            return False, f"{where} key type changed {render(old.key)} → {render(new.key)}"
        if isinstance(old.value, Struct) and isinstance(new.value, Struct):
            return _struct_change(old.value, new.value, f"{where} value")
        return False, f"{where} value type changed {render(old.value)} → {render(new.value)}"
    return False, f"{where} type changed {a} → {b}"


def _struct_change(old: Struct, new: Struct, where: str) -> tuple[bool, str]:
    reasons: list[str] = []
    new_names = [f.name for f in new.fields]
    for index, before in enumerate(old.fields):
        label = f"{where} field `{before.name}`"
        if index >= len(new.fields) or new.fields[index].name != before.name:
            moved = before.name in new_names
            return False, f"{label} {'moved' if moved else 'dropped or renamed'}"
        after = new.fields[index]
        in_place, reason = change_reason(before.type, after.type, label)
        if not in_place:
            return False, reason
        if render(before.type) != render(after.type):
            reasons.append(reason)
        if before.nullable and not after.nullable:
            return False, f"{label} made NOT NULL"
        if not before.nullable and after.nullable:
            reasons.append(f"{label} NOT NULL relaxed")
        if before.comment != after.comment:
            reasons.append(f"{label} comment changed")
    for added in new.fields[len(old.fields) :]:
        if not added.nullable:
            return False, f"{where} field `{added.name}` added as NOT NULL"
        reasons.append(f"{where} field `{added.name}` added at the end")
    return True, "; ".join(reasons) or f"{where} unchanged"
