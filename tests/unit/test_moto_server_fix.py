"""The server fix reads moto's module list once: the same list, no disk access per request."""

import os

import moto.backends
import pytest

from harness.local.moto_fixes import server


def test_the_module_list_is_read_once_and_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = list(moto.backends.list_of_moto_modules())
    monkeypatch.setattr(moto.backends, "list_of_moto_modules", moto.backends.list_of_moto_modules)

    server.apply()

    def no_disk(_: str) -> list[str]:
        raise AssertionError("moto's package directory was listed again")

    monkeypatch.setattr(os, "listdir", no_disk)
    assert list(moto.backends.list_of_moto_modules()) == listed
    assert "dynamodb" in listed and "kinesis" in listed
