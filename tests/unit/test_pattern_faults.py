"""A pattern's own expected outcomes under faults (`faults:` in its pattern.yaml)."""

from pathlib import Path

import pytest
import yaml

from harness.errors import UserError
from harness.patterns import Pattern, patterns

PROJECTIONS = {
    "p": {"kind": "state", "observer": "dynamodb_scan", "resources": {}, "hop": {"via": "v"}}
}


def _pattern(tmp_path: Path, faults: dict[str, object]) -> Pattern:
    root = tmp_path / "patterns" / "p"
    root.mkdir(parents=True)
    descriptor = {"summary": "s", "projections": PROJECTIONS, "faults": faults}
    (root / "pattern.yaml").write_text(yaml.safe_dump(descriptor))
    return Pattern(root)


def test_an_unknown_kind_is_one_line_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UserError) as raised:
        _pattern(tmp_path, {"meteor": {"says": "gone"}})
    message = str(raised.value)
    assert "unknown kind(s) meteor (known: dms_task_stop, " in message and "\n" not in message


def test_the_queue_pattern_expects_retries_after_its_visibility_timeout() -> None:
    own = patterns()["sqs_lambda_eventstore"].faults["lambda_errors"]
    assert own.slack_s is not None and own.slack_s >= 180  # the queue's default visibility
    assert own.allowed is None  # the kind's: duplicates only
