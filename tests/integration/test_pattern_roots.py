"""Every pattern's root module validates without warnings and plans with what the harness
gives it, with one configured floor per projection; its own Terraform tests (its `tests/`
folder: e.g. how its floors follow its variables) pass too. Terraform's test framework runs
the plans with the AWS provider mocked: no emulator, no account. Parametrised over the
discovered patterns, so a new folder is held to this without editing the file."""

import json
import shutil
from pathlib import Path

import pytest

from harness.function_packages import build_packages
from harness.local.mskconnect.plugin import placeholder_plugin
from harness.patterns import patterns
from harness.patterns.descriptor import FLOORS_OUTPUT
from harness.terraform import TERRAFORM_DIR
from tests.helpers import terraform_cli, terraform_env

pytestmark = pytest.mark.slow

PLAN_TEST = """\
mock_provider "aws" {{
  source = "../../mocks/aws"
}}

run "plans_with_one_floor_per_projection" {{
  command = plan

  variables {{
{variables}
  }}

  assert {{
    condition     = join(",", sort(keys(output.{floors}))) == "{projections}"
    error_message = "{floors} must name each projection of pattern.yaml"
  }}

  assert {{
    condition     = alltrue([for floor in values(output.{floors}) : floor >= 0])
    error_message = "a floor is a duration: never negative"
  }}
}}
"""


@pytest.mark.parametrize("name", sorted(patterns()))
def test_root_module_validates_and_plans(name: str, tmp_path: Path) -> None:
    pattern = patterns()[name]
    shutil.copytree(TERRAFORM_DIR, tmp_path / "terraform")
    root = tmp_path / "terraform" / "patterns" / name
    build_packages(root)
    # what the harness sets on apply, with stand-ins for the source and the plugins
    variables = pattern.provided_values(
        "plan-test",
        "host=db.example port=5432 dbname=app user=cdc",
        lambda plugin: placeholder_plugin(plugin, tmp_path / "plugins"),
    )
    projections = sorted(p.name for p in pattern.projections)
    (root / "cdcbench_plan.tftest.hcl").write_text(
        PLAN_TEST.format(
            variables="\n".join(f"    {k} = {json.dumps(v)}" for k, v in variables.items()),
            floors=FLOORS_OUTPUT,
            projections=",".join(projections),
        )
    )
    env = terraform_env(tmp_path)

    init = terraform_cli(root, env, "init", "-backend=false", "-input=false")
    assert init.returncode == 0, init.stderr
    validate = terraform_cli(root, env, "validate", "-json")
    result = json.loads(validate.stdout)
    assert result["valid"], result["diagnostics"]
    assert result["warning_count"] == 0, result["diagnostics"]
    tested = terraform_cli(root, env, "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "cdcbench_plan.tftest.hcl... pass" in tested.stdout
    own = sorted(p.name for p in (root / "tests").glob("*.tftest.hcl"))
    for test_file in own:
        assert f"tests/{test_file}... pass" in tested.stdout, tested.stdout
