"""The local DMS engine's LOB modes, read from a task's TargetMetadata settings."""

import json

import pytest

from harness.local.dms.changes import Column, Table
from harness.local.dms.lobs import LobMode, truncate
from tests.helpers import DOC_EXAMPLES

TABLE = Table(
    "public",
    "docs",
    (
        Column("id", "INT8"),
        Column("body", "NCLOB"),
        Column("blob", "BLOB"),
        Column("tag", "STRING"),
    ),
    ("id",),
)


def test_a_task_s_saved_settings_and_no_settings_mean_limited_lob_mode_at_32_kb() -> None:
    saved = json.loads((DOC_EXAMPLES / "dms-task-settings/saved-task-settings.json").read_text())

    assert LobMode.from_settings(saved).limit_bytes == 32 * 1024
    assert LobMode.from_settings({}).limit_bytes == 32 * 1024
    full = {"TargetMetadata": {"SupportLobs": "true", "FullLobMode": "true"}}
    assert LobMode.from_settings(full).limit_bytes is None
    with pytest.raises(ValueError, match="SupportLobs=false is not supported"):
        LobMode.from_settings({"TargetMetadata": {"SupportLobs": False}})


def test_only_lob_columns_over_the_limit_are_cut_and_rows_that_fit_are_kept() -> None:
    cut = LobMode(4).cutter(TABLE, "task")
    assert cut is not None and LobMode(None).cutter(TABLE, "task") is None
    fits = {"id": "1", "body": "abcd", "blob": "\\x01020304", "tag": "long text"}
    over = {"id": "2", "body": "abcdé", "blob": "\\x0102030405", "tag": "long text"}

    assert cut(fits) is fits
    assert cut(over) == {"id": "2", "body": "abcd", "blob": "\\x01020304", "tag": "long text"}
    assert over["body"] == "abcdé"  # the source's row is left as it was
    assert truncate("abcé", 4) == "abc"  # never half a character
    assert LobMode(4).cutter(Table("public", "t", (Column("id", "INT8"),), ("id",)), "t") is None
