"""What `--workers` derives by itself: the module's name, the user's config, the DSN the
workers and the master's options carry, and how a container's values map to a local task."""

import re
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.load.locust_runner import split_password
from harness.local.ecs import local_command, mapped
from harness.workers import deployment_name, read_config

MODULE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,54}$")


@pytest.mark.parametrize(
    "run_id",
    [
        "20261203-182754-workers-daed",
        "plan-3fa9c1",
        "20261203-182754-" + "a-very-long-scenario-name-indeed" + "-daed",
        "20261203-182754-odd--name-daed",
    ],
)
def test_the_module_name_fits_its_bucket_and_keeps_runs_apart(run_id: str) -> None:
    name = deployment_name(run_id)
    assert MODULE_NAME.match(name) and "--" not in name and not name.endswith("-"), name
    assert name != deployment_name(run_id + "x")


def test_a_short_run_id_names_the_module_as_it_is() -> None:
    assert deployment_name("plan-3fa9c1") == "cdcbench-plan-3fa9c1"


def test_the_config_gives_the_module_s_variables(tmp_path: Path) -> None:
    path = tmp_path / "workers.yaml"
    path.write_text("image: repo/cdcbench:1\nsubnet_ids: [subnet-a]\n")
    assert read_config(path) == {"image": "repo/cdcbench:1", "subnet_ids": ["subnet-a"]}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("worker_count: 3\n", "sets worker_count: cdcbench sets those"),
        ("- image\n", "must map the module's variables"),
        ("image: [unclosed\n", "is not YAML or JSON"),
    ],
)
def test_a_bad_config_is_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "workers.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=re.escape(says)):
        read_config(path)


def test_a_missing_config_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read --workers-config"):
        read_config(tmp_path / "absent.yaml")


def test_the_password_travels_apart_from_the_dsn() -> None:
    dsn, password = split_password("host=db port=5432 user=app password='s3 cret' dbname=src")
    assert "password" not in dsn and "s3" not in dsn and "host=db" in dsn
    assert password == "s3 cret"
    dsn, password = split_password("host=db user=app")
    assert password is None and sorted(dsn.split()) == ["host=db", "user=app"]


def test_a_mount_s_container_path_becomes_the_task_s_folder(tmp_path: Path) -> None:
    mounts = {"/scratch": tmp_path / "scratch"}
    assert mapped("/scratch/ledger", mounts) == f"{tmp_path}/scratch/ledger"
    assert mapped("/scratch", mounts) == f"{tmp_path}/scratch"
    assert mapped("/scratchpad", mounts) == "/scratchpad"
    assert mapped("value", mounts) == "value"


def test_a_container_s_program_comes_from_this_environment() -> None:
    command = local_command(["locust", "--worker"])
    assert command[0].endswith("/locust") and Path(command[0]).exists()
    assert local_command(["no-such-program-here", "x"]) == ["no-such-program-here", "x"]
