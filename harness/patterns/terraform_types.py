"""Terraform type constraints (`string`, `list(number)`, `object({a = optional(bool)})`...),
read from a variable's `type`, and the check of a value against one by Terraform's own
conversion rules, so a scenario's `pattern_variables` fail before anything starts rather
than at apply.

Written here because no library does it: python-hcl2 hands a type constraint back as
expression text, and Terraform itself only checks a value inside a plan. The rules
reproduced: a number or a bool converts to a string; a string holding a number converts to
a number, "true"/"false" to a bool; null is accepted for any type; an object needs its
non-optional attributes (attributes it does not declare are refused here, where Terraform
would drop them silently: they are always a mistake in a scenario).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r'\s*(?:([A-Za-z_][A-Za-z0-9_-]*)|("(?:[^"\\]|\\.)*")|(-?[0-9][0-9.eE+-]*)|(.))'
)
_PRIMITIVES = ("string", "number", "bool", "any")
_COLLECTIONS = ("list", "set", "map")


@dataclass(frozen=True)
class TerraformType:
    """A type constraint: `kind` is a primitive, a collection, `object` or `tuple`."""

    kind: str
    element: "TerraformType | None" = None
    """The element type of a list, set or map."""
    attributes: tuple[tuple[str, "TerraformType", bool], ...] = ()
    """An object's attributes: (name, type, optional)."""
    elements: tuple["TerraformType", ...] = ()
    """A tuple's element types."""

    def __str__(self) -> str:
        if self.kind in _COLLECTIONS:
            return f"{self.kind}({self.element})"
        if self.kind == "object":
            inner = ", ".join(
                f"{n} = optional({t})" if opt else f"{n} = {t}" for n, t, opt in self.attributes
            )
            return f"object({{{inner}}})"
        if self.kind == "tuple":
            return f"tuple([{', '.join(str(t) for t in self.elements)}])"
        return self.kind


ANY = TerraformType("any")


def parse_type(text: str | None) -> TerraformType:
    """A variable's `type` as python-hcl2 gives it (`number`, `${list(string)}`); no type
    is `any`."""
    if text is None:
        return ANY
    source = text.strip()
    if source.startswith("${") and source.endswith("}"):
        source = source[2:-1]
    parser = _Parser(source)
    parsed = parser.type()
    parser.expect_end()
    return parsed


def conform(value: Any, expected: TerraformType, where: str) -> str | None:
    """Why `value` cannot be `expected` (naming the place as `where`), or None if it can."""
    if value is None or expected.kind == "any":
        return None
    kind = expected.kind
    if kind == "string":
        ok = isinstance(value, str | int | float | bool)
    elif kind == "number":
        ok = _is_number(value)
    elif kind == "bool":
        ok = isinstance(value, bool) or value in ("true", "false")
    elif kind in ("list", "set", "tuple"):
        return _conform_sequence(value, expected, where)
    else:
        return _conform_mapping(value, expected, where)
    return None if ok else f"{where}: expected {kind}, got {value!r}"


def _conform_sequence(value: Any, expected: TerraformType, where: str) -> str | None:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return f"{where}: expected {expected}, got {value!r}"
    if expected.kind == "tuple":
        if len(value) != len(expected.elements):
            return f"{where}: expected {len(expected.elements)} elements, got {len(value)}"
        types = list(expected.elements)
    else:
        assert expected.element is not None
        types = [expected.element] * len(value)
    problems = (
        conform(v, t, f"{where}[{i}]") for i, (v, t) in enumerate(zip(value, types, strict=True))
    )
    return next((p for p in problems if p), None)


def _conform_mapping(value: Any, expected: TerraformType, where: str) -> str | None:
    if not isinstance(value, Mapping):
        return f"{where}: expected {expected}, got {value!r}"
    if expected.kind == "map":
        assert expected.element is not None
        problems = (conform(v, expected.element, f"{where}.{k}") for k, v in value.items())
        return next((p for p in problems if p), None)
    declared = {name: (kind, optional) for name, kind, optional in expected.attributes}
    unknown = sorted(set(value) - set(declared))
    if unknown:
        return f"{where}: unknown attribute {unknown[0]!r} (known: {', '.join(declared)})"
    for name, (kind, optional) in declared.items():
        if name not in value:
            if not optional:
                return f"{where}: attribute {name!r} is required"
            continue
        problem = conform(value[name], kind, f"{where}.{name}")
        if problem:
            return problem
    return None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


class _Parser:
    """Recursive descent over a type constraint's tokens."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = [m.group(m.lastindex or 0) for m in _TOKEN.finditer(source) if m.lastindex]
        self.at = 0

    def type(self) -> TerraformType:
        name = self._take()
        if name in _PRIMITIVES:
            return TerraformType(name)
        if name in _COLLECTIONS:
            self._expect("(")
            element = self.type()
            self._expect(")")
            return TerraformType(name, element=element)
        if name == "tuple":
            self._expect("(")
            self._expect("[")
            elements = self._until("]", self.type)
            self._expect(")")
            return TerraformType("tuple", elements=tuple(elements))
        if name == "object":
            self._expect("(")
            self._expect("{")
            attributes = self._until("}", self._attribute)
            self._expect(")")
            return TerraformType("object", attributes=tuple(attributes))
        raise ValueError(f"unknown type {name!r} in {self.source!r}")

    def expect_end(self) -> None:
        if self.at != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.at]!r} in {self.source!r}")

    def _attribute(self) -> tuple[str, TerraformType, bool]:
        name = self._take().strip('"')
        self._expect("=")
        if self._peek() != "optional":
            return name, self.type(), False
        self._take()
        self._expect("(")
        kind = self.type()
        if self._peek() == ",":  # a default: any expression, up to the closing parenthesis
            depth = 0
            while depth or self._peek() != ")":
                token = self._take()
                depth += token in "([{" and len(token) == 1
                depth -= token in ")]}" and len(token) == 1
        self._expect(")")
        return name, kind, True

    def _until(self, close: str, item: Any) -> list[Any]:
        items = []
        while self._peek() != close:
            items.append(item())
            if self._peek() == ",":
                self._take()
        self._expect(close)
        return items

    def _peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def _take(self) -> str:
        if self.at >= len(self.tokens):
            raise ValueError(f"unexpected end of {self.source!r}")
        self.at += 1
        return self.tokens[self.at - 1]

    def _expect(self, token: str) -> None:
        found = self._take()
        if found != token:
            raise ValueError(f"expected {token!r}, found {found!r} in {self.source!r}")
