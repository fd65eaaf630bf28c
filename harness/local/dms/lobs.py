"""How a task moves LOB columns (BLOB, CLOB, NCLOB: PostgreSQL's bytea, text, json, jsonb,
xml, arrays), by its TargetMetadata settings as DMS documents them.

Limited LOB mode (`LimitedSizeLobMode`, DMS's default with `LobMaxSize` 32 KB, as a task's
saved settings show) truncates a LOB longer than `LobMaxSize` KB to that size and warns in
the task's log; full LOB mode (`FullLobMode`) moves each whole. `SupportLobs` false (no LOB
column moved at all) is refused: the local engine does not emulate it.

Sizes count bytes: a BLOB's own (its hex text `\\x...` cut after that many byte pairs), a
character LOB's in UTF-8, cut at a character boundary. DMS does not document in which form it
counts a character LOB; its NCLOB is a wide-character type, so AWS may cut the same text
shorter. Runs whose LOBs are well above or below the limit are judged the same either way;
what lies in between may differ.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.local.dms.changes import LOB_TYPES, Row, Table, Value
from harness.local.dms.targets.s3 import as_bool, as_int

log = logging.getLogger("harness.local.dms")

DMS_LOB_MAX_SIZE_KB = 32
"""LobMaxSize of a task whose settings give none."""


@dataclass(frozen=True)
class LobMode:
    limit_bytes: int | None
    """The longest LOB moved whole (None: any, full LOB mode)."""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "LobMode":
        meta = settings.get("TargetMetadata") or {}
        if not as_bool(meta.get("SupportLobs"), default=True):
            raise ValueError("TargetMetadata SupportLobs=false is not supported")
        if as_bool(meta.get("FullLobMode")):
            return cls(None)
        return cls(as_int(meta.get("LobMaxSize"), DMS_LOB_MAX_SIZE_KB) * 1024)

    def cutter(self, table: Table, task: str) -> Callable[[Row], Row] | None:
        """What truncates `table`'s rows (None: nothing ever needs it)."""
        limit = self.limit_bytes
        lobs = [(c.name, c.dms_type == "BLOB") for c in table.columns if c.dms_type in LOB_TYPES]
        if limit is None or not lobs:
            return None
        warned = False

        def cut(row: Row) -> Row:
            nonlocal warned
            cut_row = row
            for name, binary in lobs:
                value = row.get(name)
                if value is None or len(value) <= limit // 4:  # no UTF-8 character is longer
                    continue
                shorter = truncate(value, limit, binary)
                if shorter is not value:
                    if cut_row is row:
                        cut_row = dict(row)
                    cut_row[name] = shorter
                    if not warned:
                        warned = True
                        log.warning(
                            "DMS task %s: %s.%s.%s holds a LOB over LobMaxSize (%d KB): "
                            "truncated (limited LOB mode)",
                            task,
                            table.schema,
                            table.name,
                            name,
                            limit // 1024,
                        )
            return cut_row

        return cut


def truncate(value: str, limit: int, binary: bool = False) -> Value:
    """`value` cut to `limit` bytes (itself when it fits); `binary`: a BLOB's hex text."""
    if binary:  # `\x` and two digits per byte
        return value if len(value) <= 2 + 2 * limit else value[: 2 + 2 * limit]
    encoded = value.encode()
    if len(encoded) <= limit:
        return value
    return encoded[:limit].decode(errors="ignore")
