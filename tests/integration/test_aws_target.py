"""The `aws` target with moto standing in for AWS (reached through the standard
`AWS_ENDPOINT_URL`, as any endpoint the SDKs are pointed at): the preflight's one-line
failures before anything is created, `--plan-only` of every pattern with its hourly cost,
and a whole run of the pattern that needs no engine."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.local.mskconnect.plugin import placeholder_plugin
from harness.patterns import patterns
from harness.pipeline import plan_only
from harness.scenario import load_scenario
from harness.settings import Settings
from harness.targets import Target, TargetOptions
from harness.targets.permissions import load_policy
from tests.conftest import BareCloud
from tests.helpers import run_cli

pytestmark = pytest.mark.slow

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def iam_user(bare_cloud: BareCloud, name: str, policy: dict[str, Any]) -> dict[str, str]:
    """Credentials of a new IAM user holding `policy` (moto answers as that user)."""
    iam = bare_cloud.aws.client("iam")
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    iam.attach_user_policy(UserName=name, PolicyArn=arn["Policy"]["Arn"])
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


@pytest.fixture(scope="module")
def deployer(bare_cloud: BareCloud) -> dict[str, str]:
    """A user holding the project's policy, `policy/cdcbench-aws.json`."""
    return iam_user(bare_cloud, "cdcbench-deployer", load_policy())


def aws_env(bare_cloud: BareCloud, tmp_path: Path, **changes: str) -> dict[str, str]:
    """The environment of a machine whose standard chain reaches moto as AWS: no profile
    files, no instance metadata; `changes` set ("" removes)."""
    empty = tmp_path / "empty-aws-config"
    empty.write_text("")
    assert bare_cloud.aws.endpoint_url
    env = {
        "AWS_ENDPOINT_URL": bare_cloud.aws.endpoint_url,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "",
        "AWS_PROFILE": "",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDCBENCH_SOURCE_DSN": "",
        "PGPASSWORD": "",
        **CREDENTIALS,
        **changes,
    }
    return env


def scenario(tmp_path: Path, names: list[str], **more: Any) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "aws-standin",
                "patterns": names,
                "load": {"duration_s": 5, "rate_per_s": 10, "users": 1},
                "check": {"converge_timeout_s": 60, "lag_window_s": 1},
                **more,
            }
        )
    )
    return path


def run_aws(
    tmp_path: Path, env: dict[str, str], *args: str, path: Path | None = None, timeout: float = 600
) -> tuple[int, str, str]:
    """`cdcbench run` of the scenario at `path` (`direct` alone by default) on the `aws`
    target, in `env` ("" unsets)."""
    proc = run_cli(
        "run",
        str(path or scenario(tmp_path, ["direct"])),
        "--target",
        "aws",
        "--reports-dir",
        str(tmp_path / "reports"),
        *args,
        env={k: v for k, v in env.items() if v != ""},
        unset=[k for k, v in env.items() if v == ""],
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, "no AWS credentials found"),
        ({"AWS_REGION": ""}, "no AWS region: set AWS_REGION"),
        ({"AWS_REGION": "moon-east-1"}, "region 'moon-east-1' does not offer dynamodb"),
    ],
    ids=["no-credentials", "no-region", "wrong-region"],
)
def test_the_preflight_stops_before_anything_with_one_line(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path, changes: dict[str, str], says: str
) -> None:
    env = aws_env(bare_cloud, tmp_path, **changes)

    code, out, err = run_aws(tmp_path, env, "--source-dsn", local_target.source_dsn)

    assert code == 2, out + err
    assert says in err.strip().splitlines()[-1] and "Traceback" not in err, err
    assert not (tmp_path / "reports").exists() or not any(
        (p / "direct" / "work").exists() for p in (tmp_path / "reports").iterdir()
    )


def test_without_a_source_database_it_says_how_to_give_one(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    code, _, err = run_aws(tmp_path, aws_env(bare_cloud, tmp_path))

    assert code == 2
    assert "needs a source database: --source-dsn" in err and "source_rds" in err


def test_an_unreachable_source_is_one_line(bare_cloud: BareCloud, tmp_path: Path) -> None:
    dsn = "host=127.0.0.1 port=9 dbname=app user=app connect_timeout=2"

    code, _, err = run_aws(tmp_path, aws_env(bare_cloud, tmp_path), "--source-dsn", dsn)

    assert code == 2 and "cannot connect to the source database" in err, err


def test_plan_only_plans_every_pattern_and_prints_its_hourly_cost(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path
) -> None:
    names = sorted(patterns())
    plugins = tmp_path / "plugins"
    for pattern in patterns().values():  # what a user downloads for AWS; any zip plans
        for plugin in pattern.connector_plugins.values():
            placeholder_plugin(plugin, plugins)
    env = aws_env(bare_cloud, tmp_path, CDCBENCH_CONNECTOR_PLUGINS_DIR=str(plugins))
    path = scenario(tmp_path, names)
    source = ("--source-dsn", local_target.source_dsn)

    code, out, err = run_aws(tmp_path, env, "--plan-only", *source, path=path, timeout=900)

    assert code == 0, out[-2000:] + err[-2000:]
    for name in names:
        assert f"\n{name}: " in "\n" + out, out
    assert "aws_dms_replication_instance" in out
    assert "Total: about $" in out
    dms = bare_cloud.aws.client("dms").describe_replication_instances()
    created = [i for i in dms["ReplicationInstances"] if "cdcbench-plan-" in str(i)]
    assert created == []  # a plan creates nothing
    assert not (tmp_path / "reports").exists()


def test_a_missing_permission_is_one_line_naming_it(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path
) -> None:
    tables_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
    }
    credentials = iam_user(bare_cloud, "cdcbench-tables-only", tables_only)
    env = aws_env(bare_cloud, tmp_path, **credentials)

    code, _, err = run_aws(tmp_path, env, "--source-dsn", local_target.source_dsn, "--yes")

    last = err.strip().splitlines()[-1]
    assert code == 2, err
    assert "user/cdcbench-tables-only lacks" in last and "attach policy/cdcbench-aws.json" in last
    assert "iam:SimulatePrincipalPolicy" in last or "permissions the patterns need" in last


def test_a_run_on_aws_asks_before_it_creates_anything(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path, deployer: dict[str, str]
) -> None:
    code, _, err = run_aws(
        tmp_path, aws_env(bare_cloud, tmp_path, **deployer), "--source-dsn", local_target.source_dsn
    )

    assert code == 2 and "pass --yes" in err and "about $" in err, err
    tables = bare_cloud.aws.client("dynamodb").list_tables()["TableNames"]
    assert not [t for t in tables if "aws-standin" in t]


def test_a_whole_run_on_aws_measures_and_destroys(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path, deployer: dict[str, str]
) -> None:
    env = aws_env(bare_cloud, tmp_path, **deployer)

    code, out, err = run_aws(tmp_path, env, "--source-dsn", local_target.source_dsn, "--yes")

    assert code == 0, out[-2000:] + err[-2000:]
    run_dir = next(p for p in (tmp_path / "reports").iterdir() if p.name != "latest")
    results = json.loads((run_dir / "results.json").read_text())
    assert results["target"]["name"] == "aws" and results["target"]["account"] == "123456789012"
    assert "password" not in json.dumps(results["target"])
    projection = results["patterns"]["direct"]["projections"]["read_model"]
    assert projection["check"]["valid"] is True and projection["lag"]["seen"] > 0
    tables = bare_cloud.aws.client("dynamodb").list_tables()["TableNames"]
    assert not [t for t in tables if results["run_id"] in t]


def test_workers_on_aws_need_their_image_and_network(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path, deployer: dict[str, str]
) -> None:
    env = aws_env(bare_cloud, tmp_path, **deployer)
    source = ("--source-dsn", local_target.source_dsn)

    code, _, err = run_aws(tmp_path, env, *source, "--yes", "--workers", "2")

    last = err.strip().splitlines()[-1]
    assert code == 2 and "--workers on aws needs --workers-config naming image, vpc_id" in last
    assert "Traceback" not in err


def test_plan_only_with_workers_plans_their_service(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path
) -> None:
    config = tmp_path / "workers.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdcbench:1.0",
                "vpc_id": "vpc-0abc",
                "subnet_ids": ["subnet-0aaa", "subnet-0bbb"],
                "master_host": "10.0.0.10",
                "master_cidr_blocks": ["10.0.0.10/32"],
                "source_cidr_blocks": ["10.0.1.0/24"],
            }
        )
    )
    env = aws_env(bare_cloud, tmp_path)
    source = ("--source-dsn", local_target.source_dsn)
    workers = ("--workers", "3", "--workers-config", str(config))

    code, out, err = run_aws(tmp_path, env, *source, "--plan-only", *workers)

    assert code == 0, out[-2000:] + err[-2000:]
    assert "\nlocust-workers: " in out and "aws_ecs_service" in out, out
    clusters = bare_cloud.aws.client("ecs").list_clusters()["clusterArns"]
    assert not [arn for arn in clusters if "cdcbench-plan-" in arn]  # a plan creates nothing


FIS_LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:aws-fis-extension-x86_64:9"
LAMBDA_ERRORS = {"faults": [{"kind": "lambda_errors", "at_s": 1, "duration_s": 1}]}


def test_lambda_errors_on_aws_plans_fis_extension_on_every_function(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The region's extension (here a parameter standing in for AWS's public one) goes on
    the pattern's function, with the bucket and the role FIS experiments need."""
    parameter = "/cdcbench-standin/fis-extension"
    bare_cloud.aws.client("ssm").put_parameter(Name=parameter, Value=FIS_LAYER, Type="String")
    for name, value in aws_env(bare_cloud, tmp_path).items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    settings = Settings(fis_extension_parameter=parameter)
    path = scenario(tmp_path, ["sqs_lambda_eventstore"], **LAMBDA_ERRORS)
    options = TargetOptions(source_dsn=local_target.source_dsn)

    plans = plan_only(load_scenario(path), "aws", settings, options)

    changes = {
        c["address"]: c["change"] for c in plans["sqs_lambda_eventstore"]["resource_changes"]
    }
    function = changes["module.persist.aws_lambda_function.this"]["after"]
    role = changes["module.lambda_fault_injection[0].module.role.aws_iam_role.this"]["after"]
    bucket = changes["module.lambda_fault_injection[0].module.bucket.aws_s3_bucket.this"]["after"]
    assert function["layers"] == [FIS_LAYER]
    variables = function["environment"][0]["variables"]
    location = f"arn:aws:s3:::{bucket['bucket']}/FisConfigs/"
    assert variables["AWS_FIS_CONFIGURATION_LOCATION"] == location
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/aws-fis/bootstrap"
    assert role["name"] == bucket["bucket"]  # how a fault finds the role from a function
    assert "fis.amazonaws.com" in role["assume_role_policy"]


def test_without_fis_extension_in_the_region_lambda_errors_is_one_line(
    bare_cloud: BareCloud, local_target: Target, tmp_path: Path
) -> None:
    path = scenario(tmp_path, ["sqs_lambda_eventstore"], **LAMBDA_ERRORS)
    source = ("--source-dsn", local_target.source_dsn)

    code, out, err = run_aws(
        tmp_path, aws_env(bare_cloud, tmp_path), "--plan-only", *source, path=path
    )

    last = err.strip().splitlines()[-1]
    assert code == 2, out[-2000:] + err[-2000:]
    assert "cannot read AWS FIS's Lambda extension from SSM parameter /aws/service/fis" in last
    assert "Traceback" not in err
