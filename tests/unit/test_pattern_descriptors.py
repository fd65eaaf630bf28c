"""Pattern descriptors agree with their root modules, and floors follow the variables."""

import re

import pytest

from harness.patterns import PATTERNS
from harness.terraform import TERRAFORM_DIR


def _declared(pattern: str, kind: str) -> set[str]:
    root = TERRAFORM_DIR / "patterns" / PATTERNS[pattern].module
    text = "".join(path.read_text() for path in sorted(root.glob("*.tf")))
    return set(re.findall(rf'^{kind} "([^"]+)"', text, re.MULTILINE))


@pytest.mark.parametrize("name", PATTERNS)
def test_observed_resources_are_outputs_and_tunables_are_variables(name: str) -> None:
    pattern = PATTERNS[name]
    outputs, variables = _declared(name, "output"), _declared(name, "variable")

    for projection in pattern.projections:
        assert set(projection.resources.values()) <= outputs, projection.name
    assert set(pattern.variables) <= variables
    assert set(pattern.connector_plugins) <= variables
    assert "run_id" in variables
    if pattern.source_access:
        assert {"source_host", "source_port", "source_database", "source_username"} <= variables


def floors(name: str, **overrides: object) -> dict[str, float]:
    pattern = PATTERNS[name]
    variables = pattern.effective_variables(overrides)
    return {p.name: p.floor_for(variables) for p in pattern.projections}


def test_the_s3_pattern_waits_for_the_cdc_batch_window_in_both_projections() -> None:
    assert floors("dms_s3_dynamodb") == {"event_store": 60_000, "read_model": 60_000}
    assert floors("dms_s3_dynamodb", cdc_max_batch_interval=3) == {
        "event_store": 3_000,
        "read_model": 3_000,
    }


def test_the_msk_pattern_waits_for_the_projector_window_and_the_sink_rotation() -> None:
    assert floors("dms_msk_lambda") == {"topic": 0, "event_store": 0, "read_model": 0}
    assert floors(
        "dms_msk_lambda",
        projector_batching_window_s=2,
        s3_sink_flush_size=50,
        s3_sink_rotate_interval_s=30,
    ) == {"topic": 0, "event_store": 30_000, "read_model": 2_000}
