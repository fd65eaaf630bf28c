"""The moto fixes' guard: the pins agree with constraints.txt, every fix's targets exist in
the installed moto, and a fix that no longer fits stops the moto child with one line naming
the fix and what is missing or different."""

import re

import pytest

from harness.local import moto_fixes
from harness.local.moto_fixes import guard
from harness.local.moto_fixes.guard import (
    GROUPS,
    PINNED,
    BotocoreShape,
    Fix,
    MotoFixOutdated,
    check_all,
    missing,
)
from tests.helpers import REPO

FIXES = moto_fixes.all_fixes()


def test_the_pins_in_code_are_the_constraints_files() -> None:
    pins = dict(
        re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()  # type: ignore[union-attr]
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert {name: pins[name] for name in PINNED} == PINNED
    assert pins["boto3"] == pins["botocore"], "boto3 goes with its own botocore release"
    assert "-c constraints.txt" in (REPO / "Makefile").read_text()


def test_every_fix_is_named_grouped_and_fits_the_installed_moto() -> None:
    names = [one.name for one in FIXES]
    assert len(names) == len(set(names))
    assert {one.group for one in FIXES} == set(GROUPS)
    assert all(one.targets for one in FIXES)
    assert all(re.fullmatch(r"[a-z0-9]+\.[a-z0-9_]+", name) for name in names)
    check_all(FIXES)  # the real installed versions
    assert guard.installed_versions(PINNED) == PINNED


def test_a_target_that_is_gone_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    monkeypatch.delattr(DynamoDBBackend, "transact_write_items")
    with pytest.raises(MotoFixOutdated) as outdated:
        check_all(FIXES, installed={"moto": "5.3.0", "botocore": PINNED["botocore"]})
    assert str(outdated.value) == (
        "moto fix dynamodb.atomic_writes: moto.dynamodb.models.DynamoDBBackend"
        f".transact_write_items is gone (moto 5.3.0 installed, {PINNED['moto']} pinned): "
        "pin moto back or update the fix"
    )
    assert "\n" not in str(outdated.value)


def test_another_version_is_refused_even_when_everything_is_there() -> None:
    with pytest.raises(MotoFixOutdated) as outdated:
        check_all(FIXES, installed={"moto": "5.3.0", "botocore": PINNED["botocore"]})
    assert str(outdated.value) == (
        f"moto fix {FIXES[0].name}: moto 5.3.0 installed, {PINNED['moto']} pinned: "
        "pin moto back (constraints.txt) or update the fix and the pin"
    )
    with pytest.raises(MotoFixOutdated, match=r"dynamodb.wire_form_items: botocore 1.99.0 "):
        check_all(FIXES, installed={"moto": PINNED["moto"], "botocore": "1.99.0"})


def test_nothing_is_installed_when_one_fix_does_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.backends
    from moto.sqs.models import Queue

    before = moto.backends.list_of_moto_modules
    monkeypatch.delattr(Queue, "add_message")
    with pytest.raises(MotoFixOutdated, match=r"^moto fix sqs.fifo_sequence_numbers: moto\.sqs"):
        moto_fixes.apply()
    assert moto.backends.list_of_moto_modules is before, "the first fix was installed"


def test_target_forms() -> None:
    assert missing("moto.sqs.models.Queue.add_message") is None
    assert missing("moto.sqs.models.Queue.no_such") == "moto.sqs.models.Queue.no_such"
    assert missing("moto.no_such_module.Thing") == "moto.no_such_module"
    assert missing("moto.sqs.models.Queue().fifo_queue") is None  # set in __init__
    assert missing("moto.kafka.responses.KafkaResponse().parsed_url") is None  # by a base
    gone = "moto.sqs.models.Queue().no_such"
    assert missing(gone) == gone
    update = "moto.firehose.models.FirehoseBackend.update_destination"
    assert missing(f"{update}(s3_destination_update)") is None
    assert missing(f"{update}(no_such)") == f"{update}'s parameter no_such"
    assert missing(BotocoreShape("dynamodb", "AttributeValue")) is None
    assert missing(BotocoreShape("dynamodb", "NoSuch")) == "botocore's dynamodb shape NoSuch"


def test_a_fix_module_that_does_not_import_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto_fixes, "MODULES", (*moto_fixes.MODULES, "additions.no_such"))
    with pytest.raises(MotoFixOutdated, match=r"^moto fix module additions.no_such: No module"):
        moto_fixes.apply()


def test_fixes_declare_only_pinned_packages() -> None:
    with pytest.raises(ValueError, match="outside the pinned packages"):
        guard.fix("werkzeug.Request.data")
    assert all(isinstance(one, Fix) and set(one.packages) <= set(PINNED) for one in FIXES)
