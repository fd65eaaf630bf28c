"""The server fixes read moto's module list and each handler's actions once: moto as
released lists its package directory and walks the handler class on every request; with the
fixes, the same answers and no such work per request."""

import inspect
import os
from typing import Any

import moto.backends
import moto.core.responses
import pytest
from moto.dynamodb.responses import DynamoHandler

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


def test_a_handler_s_actions_are_listed_once_until_its_class_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    getmembers = inspect.getmembers
    walks: list[Any] = []

    def counted(obj: Any, predicate: Any = None) -> list[tuple[str, Any]]:
        walks.append(obj)
        return getmembers(obj, predicate)

    monkeypatch.setattr(inspect, "getmembers", counted)

    def actions() -> set[str]:
        return set(moto.core.responses.method_names_from_class(DynamoHandler))

    released = actions()
    for _ in range(2):
        assert actions() == released
    assert len(walks) == 3, fixed_upstream("server.handler_actions_once")

    with applied("server.handler_actions_once"):
        walks.clear()
        for _ in range(3):
            assert actions() == released
        assert len(walks) == 1, "the handler class was walked again"
        monkeypatch.setattr(DynamoHandler, "cdcbench_probe", lambda self: "", raising=False)
        assert actions() == released | {"cdcbench_probe"}
        monkeypatch.delattr(DynamoHandler, "cdcbench_probe")
        assert actions() == released
    assert {"query", "put_item", "batch_write_item"} <= released
