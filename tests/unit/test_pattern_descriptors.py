"""Every pattern folder found is a pattern the harness can run: its descriptor agrees with its
root module (outputs, variables, floors), names observers and an application that exist, and
its tunables are type-checked from variables.tf. Parametrised over the discovered patterns,
so a new folder is held to all of it without editing this file."""

import inspect
import shutil
from pathlib import Path

import pytest

from harness.apps import Spec, hooks
from harness.aws import AwsAccess
from harness.errors import UserError
from harness.observe import OBSERVERS
from harness.patterns import PATTERNS_DIR, discover, patterns
from harness.patterns.descriptor import DESCRIPTOR, FLOORS_OUTPUT, RUN_ID_VARIABLE
from harness.report.flow import published_hops

NAMES = sorted(patterns())


def test_the_patterns_are_the_folders_with_a_descriptor() -> None:
    folders = sorted(p.parent.name for p in PATTERNS_DIR.glob(f"*/{DESCRIPTOR}"))
    assert folders == NAMES
    assert {"direct", "dms_s3_dynamodb", "dms_msk_lambda"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_descriptor_agrees_with_its_root_module(name: str) -> None:
    pattern = patterns()[name]
    module = pattern.module

    assert FLOORS_OUTPUT in module.outputs
    assert module.variables[RUN_ID_VARIABLE].required
    for projection in pattern.projections:
        assert set(projection.resources.values()) <= module.outputs, projection.name
    assert set(pattern.connector_plugins) <= set(module.variables)
    # only what the harness provides may lack a default
    required = {n for n, v in module.variables.items() if v.required}
    assert required <= pattern.provided, required - pattern.provided
    pattern.check_variables(pattern.smoke_variables)


@pytest.mark.parametrize("name", NAMES)
def test_observers_exist_and_take_the_projections_parameters(name: str) -> None:
    for projection in patterns()[name].projections:
        observer = OBSERVERS[projection.observer]
        parameters = inspect.signature(observer).parameters
        given = {"projection", "log_path", "aws", *projection.resources, *projection.options}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            assert set(projection.resources) | set(projection.options) <= set(parameters)
        missing = {
            p.name
            for p in parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind is not inspect.Parameter.VAR_KEYWORD
            and p.name not in given
        }
        assert not missing, (projection.name, missing)


@pytest.mark.parametrize("name", [n for n in NAMES if patterns()[n].application])
def test_the_application_builds_its_hook_from_the_outputs(name: str, tmp_path: Path) -> None:
    pattern = patterns()[name]
    assert pattern.application is not None
    outputs: dict[str, object] = dict.fromkeys(pattern.module.outputs, "x")
    if "application" in outputs:  # the application's tunables, and where it sends
        outputs["application"] = {**pattern.effective_variables({}), "queue_url": "x"}
    aws = AwsAccess("us-east-1", "http://127.0.0.1:1")
    built = hooks(Spec(pattern.application, outputs), aws, tmp_path)
    assert built.before_commit or built.after_commit


def test_tunables_come_from_variables_tf_with_their_defaults() -> None:
    pattern = patterns()["dms_s3_dynamodb"]

    assert pattern.effective_variables({})["cdc_max_batch_interval"] == 60
    assert pattern.effective_variables({"cdc_max_batch_interval": 3})["cdc_max_batch_interval"] == 3
    assert str(pattern.tunables["subnet_ids"].type) == "list(string)"
    assert not pattern.provided & set(pattern.tunables)
    assert pattern.source_access and not patterns()["direct"].source_access


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"cdc_max_batch_interval": "abc"}, "cdc_max_batch_interval: expected number, got 'abc'"),
        ({"cdc_max_batch_intervall": 3}, "unknown variable 'cdc_max_batch_intervall'"),
        ({"source_connection": {}}, "'source_connection' is set by cdcbench"),
    ],
)
def test_a_bad_tunable_is_named(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError) as error:
        patterns()["dms_s3_dynamodb"].check_variables(values)
    assert problem in str(error.value)


def test_the_floors_come_from_the_applied_root_modules_output() -> None:
    pattern = patterns()["dms_msk_lambda"]
    floors = {"topic": 0, "event_store": 30_000, "read_model": 2_000}

    assert pattern.floors_ms({FLOORS_OUTPUT: floors}) == floors
    with pytest.raises(UserError, match="must map each projection"):
        pattern.floors_ms({FLOORS_OUTPUT: {"topic": 0}})


def test_a_new_folder_is_a_new_pattern(tmp_path: Path) -> None:
    shutil.copytree(PATTERNS_DIR / "direct", tmp_path / "direct_copy")

    found = discover(tmp_path)

    assert list(found) == ["direct_copy"]
    assert found["direct_copy"].projections == patterns()["direct"].projections


ONE = "projections: {a: {kind: state, observer: o, resources: {}, hop: {via: v}}}\n"
_A_FROM_B = "a: {kind: state, observer: o, resources: {}, hop: {from: b, via: v}}"


@pytest.mark.parametrize(
    ("descriptor", "says"),
    [
        ("summary: x\nprojections: {}\n", "projections"),
        ("summary: x\ncolour: blue\n" + ONE, "colour"),
        ("summary: x\napplication: nosuch\n" + ONE, "nosuch"),
        ("summary: [unclosed\n", "not valid YAML"),
        (
            "summary: x\n" + ONE.replace("via: v", "via: v, from: c"),
            "hop from unknown projection c",
        ),
        (
            "summary: x\nprojections: {"
            + _A_FROM_B
            + ", b: {kind: state, observer: o, resources: {}, hop: {from: a, via: v}}}\n",
            "its hops loop (a <- b)",
        ),
    ],
)
def test_a_bad_descriptor_is_one_line_naming_its_file(
    tmp_path: Path, descriptor: str, says: str
) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / DESCRIPTOR).write_text(descriptor)

    with pytest.raises(UserError) as error:
        discover(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "broken" / DESCRIPTOR) in message and says in message
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(patterns()))
def test_each_hop_names_a_published_figure_the_table_holds(name: str) -> None:
    table = published_hops()
    for projection in patterns()[name].projections:
        assert not projection.hop.published or projection.hop.published in table.hops
    assert all(f.source.startswith("https://") for f in table.hops.values())
