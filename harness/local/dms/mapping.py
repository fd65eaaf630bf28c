"""DMS table mappings: selection rules, the cheap transformation rules, object-mapping lookup.

Written by hand because no library parses DMS table-mapping JSON. Wildcards follow
the DMS guide: `%` any run of characters, `_` one character, `[_]` a literal
underscore, `[ab]` / `[a-d]` character sets. Selection: a table is replicated when
an include or explicit rule matches it and no exclude rule does. Transformations
supported: rename, convert-lowercase/uppercase, add/remove/replace-prefix and
-suffix (schema, table, column targets) and remove-column; other rule actions are
refused so a task never silently does less than asked.
"""

import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from harness.local.dms.changes import Row, Table


class MappingError(ValueError):
    """The table mapping is malformed or uses something the local engine does not run."""


@lru_cache(maxsize=256)
def _pattern(wildcard: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(wildcard):
        ch = wildcard[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            end = wildcard.find("]", i + 1)
            if end < 0:
                raise MappingError(f"unclosed '[' in object-locator {wildcard!r}")
            body = wildcard[i + 1 : end]
            out.append(re.escape(body) if body == "_" else f"[{body}]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def matches(wildcard: str, name: str) -> bool:
    """Whether `name` matches a DMS object-locator wildcard."""
    return _pattern(wildcard).fullmatch(name) is not None


_TRANSFORMS = {
    "rename",
    "convert-lowercase",
    "convert-uppercase",
    "add-prefix",
    "remove-prefix",
    "replace-prefix",
    "add-suffix",
    "remove-suffix",
    "replace-suffix",
    "remove-column",
}


@dataclass(frozen=True)
class _Rule:
    raw: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.raw.get("rule-type", ""))

    @property
    def action(self) -> str:
        return str(self.raw.get("rule-action", ""))

    @property
    def locator(self) -> dict[str, str]:
        return dict(self.raw.get("object-locator") or {})

    def locates(self, schema: str, table: str, column: str | None = None) -> bool:
        loc = self.locator
        if not matches(loc.get("schema-name", "%"), schema):
            return False
        if not matches(loc.get("table-name", "%"), table):
            return False
        return column is None or matches(loc.get("column-name", "%"), column)


def _rename(rule: _Rule, name: str) -> str:
    action, value = rule.action, str(rule.raw.get("value", ""))
    old = str(rule.raw.get("old-value", ""))
    if action == "rename":
        return value
    if action == "convert-lowercase":
        return name.lower()
    if action == "convert-uppercase":
        return name.upper()
    if action == "add-prefix":
        return value + name
    if action == "add-suffix":
        return name + value
    if action == "remove-prefix":
        return name[len(value) :] if name.startswith(value) else name
    if action == "remove-suffix":
        return name[: -len(value)] if value and name.endswith(value) else name
    if action == "replace-prefix":
        return value + name[len(old) :] if name.startswith(old) else name
    if action == "replace-suffix":
        return name[: -len(old)] + value if old and name.endswith(old) else name
    raise MappingError(f"unsupported transformation {action!r}")


class TableMapping:
    """A task's parsed table mapping."""

    def __init__(self, document: str | dict[str, Any]) -> None:
        try:
            doc = json.loads(document) if isinstance(document, str) else document
            rules = [_Rule(r) for r in doc["rules"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise MappingError(f"table mapping is not valid DMS JSON: {exc}") from exc
        self.raw = doc
        self.selection = [r for r in rules if r.type == "selection"]
        self.transformations = [r for r in rules if r.type == "transformation"]
        self.object_mappings = [r for r in rules if r.type == "object-mapping"]
        if not self.selection:
            raise MappingError("table mapping has no selection rule")
        for r in self.selection:
            if r.action not in ("include", "exclude", "explicit"):
                raise MappingError(f"selection rule {r.raw.get('rule-id')}: bad rule-action")
        for r in self.transformations:
            if r.action not in _TRANSFORMS:
                raise MappingError(
                    f"transformation rule {r.raw.get('rule-id')}: rule-action {r.action!r} "
                    "is not supported by the local DMS engine"
                )

    def selects(self, schema: str, table: str) -> bool:
        """Selection rules: included (or explicit) and not excluded."""
        hits = [r.action for r in self.selection if r.locates(schema, table)]
        return "exclude" not in hits and ("include" in hits or "explicit" in hits)

    def transform(self, table: Table) -> "MappedTable":
        """The target-side table: transformation rules applied in rule order."""
        schema, name = table.schema, table.name
        columns = {c.name: c for c in table.columns}  # source name -> target column
        for rule in self.transformations:
            target = rule.raw.get("rule-target")
            if not rule.locates(table.source_schema, table.source_name):
                continue
            if target == "schema":
                schema = _rename(rule, schema)
            elif target == "table":
                name = _rename(rule, name)
            elif target == "column":
                wanted = rule.locator.get("column-name", "%")
                for src, col in list(columns.items()):
                    if not matches(wanted, col.name):
                        continue
                    if rule.action == "remove-column":
                        del columns[src]
                    else:
                        columns[src] = replace(col, name=_rename(rule, col.name))
        names = {src: col.name for src, col in columns.items()}
        pk = tuple(names[k] for k in table.primary_key if k in names)
        target_table = Table(
            schema, name, tuple(columns.values()), pk, table.source_schema, table.source_name
        )
        return MappedTable(target_table, names)

    def object_mapping(self, table: Table) -> dict[str, Any] | None:
        """The object-mapping rule whose locator matches the table's source names, if any."""
        for rule in self.object_mappings:
            if rule.locates(table.source_schema, table.source_name):
                return rule.raw
        return None


@dataclass(frozen=True)
class MappedTable:
    """A selected table on the target side and how source column names map onto it."""

    table: Table
    names: dict[str, str]

    def row(self, row: Row | None) -> Row | None:
        """A source row keyed by target column names (removed columns dropped)."""
        if row is None:
            return None
        names = self.names
        return {names[k]: v for k, v in row.items() if k in names}
