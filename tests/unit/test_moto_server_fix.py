"""The server fix reads moto's module list once: moto as released lists its package
directory on every call; with the fix, the same list and no disk access per request."""

import os
from typing import Any

import moto.backends
import pytest

from tests.moto_fix_support import applied, fixed_upstream


def test_the_module_list_is_read_once_and_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = list(moto.backends.list_of_moto_modules())
    listdir = os.listdir
    listings: list[str] = []

    def counted(path: Any) -> list[str]:
        listings.append(str(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", counted)
    for _ in range(3):
        assert list(moto.backends.list_of_moto_modules()) == listed
    assert len(listings) == 3, fixed_upstream("server.module_list_once")

    with applied("server.module_list_once"):
        listings.clear()
        for _ in range(3):
            assert list(moto.backends.list_of_moto_modules()) == listed
        assert len(listings) <= 1, "moto's package directory was listed again"
    assert "dynamodb" in listed and "kinesis" in listed
