"""Every shared module that carries Terraform tests (its `tests/*.tftest.hcl`, e.g. the
optional `source_rds` and `locust_workers` for AWS) validates without warnings and passes
them, with the AWS provider mocked. Parametrised over the modules found, so a new module's
tests run without editing this file."""

import json
import shutil
from pathlib import Path

import pytest

from harness.terraform import TERRAFORM_DIR
from tests.helpers import terraform_cli, terraform_env

pytestmark = pytest.mark.slow

TESTED = sorted({p.parents[1].name for p in TERRAFORM_DIR.glob("modules/*/tests/*.tftest.hcl")})


def test_the_aws_only_modules_have_tests() -> None:
    assert {"source_rds", "locust_workers"} <= set(TESTED)


@pytest.mark.parametrize("name", TESTED)
def test_module_validates_and_its_tests_pass(name: str, tmp_path: Path) -> None:
    shutil.copytree(
        TERRAFORM_DIR, tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform")
    )
    module = tmp_path / "terraform" / "modules" / name
    env = terraform_env(tmp_path)

    init = terraform_cli(module, env, "init", "-backend=false", "-input=false")
    assert init.returncode == 0, init.stderr
    validated = json.loads(terraform_cli(module, env, "validate", "-json").stdout)
    assert validated["valid"] and validated["warning_count"] == 0, validated["diagnostics"]
    tested = terraform_cli(module, env, "test")
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    own = sorted(p.name for p in (module / "tests").glob("*.tftest.hcl"))
    assert all(f"{test}... pass" in tested.stdout for test in own), tested.stdout
