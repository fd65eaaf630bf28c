"""Deployments applied side by side (a shared load's group): both are applied and each one's
logs hold only its own commands; a failure of one destroys both; a teardown destroys them in the
background after the block, and its `finish` waits for that."""

from pathlib import Path

import pytest

from harness.patterns import patterns
from harness.settings import Settings
from harness.targets import Target
from harness.terraform import Deployment, Teardown, TerraformError, deployed
from tests.helpers import keyed_table
from tests.integration.test_failed_apply import tagged

pytestmark = pytest.mark.slow
PATTERNS = ("direct", "poller_dynamodb")


def _deployments(target: Target, run_id: str, workdir: Path) -> list[Deployment]:
    made = []
    for name in PATTERNS:
        pattern = patterns()[name]
        provided = pattern.provided_values(run_id, target.source_dsn, target.connector_plugin)
        made.append(Deployment(name, workdir / name, target.aws.env(), provided, Settings()))
    return made


def test_both_apply_each_logs_its_own_and_a_teardown_destroys_both(
    local_target: Target, tmp_path: Path
) -> None:
    run_id = "side-by-side"
    deployments = _deployments(local_target, run_id, tmp_path)
    teardown = Teardown()

    with deployed(deployments, owner=None, teardown=teardown):
        assert all(d.state_resources() for d in deployments)
        assert deployments[0].outputs.keys() != deployments[1].outputs.keys()
    teardown.finish()

    assert [d.state_resources() for d in deployments] == [[], []]
    assert tagged(local_target.aws, run_id) == []
    for own, other in (("direct", "pollddb"), ("pollddb", "direct")):
        folder = "direct" if own == "direct" else "poller_dynamodb"
        log = (tmp_path / folder / "logs" / "apply.log").read_text()
        assert f"{run_id}-{own}" in log and f"{run_id}-{other}" not in log


def test_a_failing_apply_destroys_the_other_too(local_target: Target, tmp_path: Path) -> None:
    run_id = "side-by-side-fails"
    dynamodb = local_target.aws.client("dynamodb")
    taken = f"cdcbench-{run_id}-direct-read-model"
    keyed_table(dynamodb, taken, "k")
    deployments = _deployments(local_target, run_id, tmp_path)
    try:
        with (
            pytest.raises(TerraformError, match="direct"),
            deployed(deployments, owner=1, teardown=Teardown()),
        ):
            pytest.fail("the apply should have failed")
        applied = (tmp_path / "poller_dynamodb" / "logs" / "apply.log").read_text()
        assert "Apply complete" in applied  # the other one was applied, then destroyed
        assert [d.state_resources() for d in deployments] == [[], []]
        assert tagged(local_target.aws, run_id) == []
    finally:
        dynamodb.delete_table(TableName=taken)


def test_a_module_being_destroyed_is_gone_before_it_is_applied_again(
    local_target: Target, tmp_path: Path
) -> None:
    run_id = "side-by-side-again"
    teardown = Teardown()
    first = _deployments(local_target, run_id, tmp_path / "first")[:1]
    with deployed(first, teardown=teardown):
        pass

    teardown.clear_of(["direct"])  # what the next apply of `direct` waits for

    assert first[0].state_resources() == []
    again = _deployments(local_target, run_id, tmp_path / "again")[:1]
    with deployed(again):
        assert again[0].state_resources()
