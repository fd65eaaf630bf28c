"""The Terraform runner applies the real provider to moto, reads outputs, and always destroys."""

import json
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.settings import Settings
from harness.targets import Target
from harness.terraform import Deployment, RemoteState, TerraformError, cli_config_env

pytestmark = pytest.mark.slow


def test_direct_module_applies_reads_outputs_and_destroys(
    local_target: Target, tmp_path: Path
) -> None:
    dynamodb = local_target.aws.client("dynamodb")
    seen_before_destroy: list[list[str]] = []

    def before_destroy(applied: Deployment) -> None:
        seen_before_destroy.append(applied.state_attributes("aws_dynamodb_table", "name"))
        raise RuntimeError("a failing hook does not stop the destroy")

    deployment = Deployment(
        "direct",
        tmp_path / "work",
        local_target.aws.env(),
        {"run_id": "runner-test"},
        Settings(),
        before_destroy=before_destroy,
    )
    with deployment:
        table = deployment.outputs["read_model_table"]
        assert deployment.outputs["read_model_stream_arn"].startswith("arn:aws:dynamodb:")
        described = dynamodb.describe_table(TableName=table)["Table"]
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert described["StreamSpecification"] == {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        assert described["SSEDescription"]["Status"] == "ENABLED"
        tags = dynamodb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"]
        assert {"Key": "cdcbench:run-id", "Value": "runner-test"} in tags
        assert "aws_dynamodb_table.this" in deployment.state_resources()
    assert seen_before_destroy == [[table]]
    assert table not in dynamodb.list_tables()["TableNames"]
    assert deployment.state_resources() == []
    assert set(deployment.timings) >= {"init_s", "apply_s", "output_s", "destroy_s"}
    assert (tmp_path / "work" / "logs" / "apply.log").read_text()
    assert (tmp_path / "work" / "logs" / "destroy.log").read_text()


def test_terraform_failure_is_one_line_with_the_log_path(
    local_target: Target, tmp_path: Path
) -> None:
    deployment = Deployment(
        "direct", tmp_path / "work", local_target.aws.env(), {"run_id": "Not Valid!"}, Settings()
    )
    with pytest.raises(TerraformError) as failure, deployment:
        pytest.fail("apply should have failed")
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("terraform apply of direct failed: Error: Invalid value for variable")
    log = Path(message.rsplit("(log: ", 1)[1].rstrip(")"))
    assert "run_id must be" in log.read_text()
    assert deployment.state_resources() == []


def test_cli_config_points_terraform_at_an_existing_mirror_only(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp").mkdir(parents=True)
    env = cli_config_env(Settings(tf_plugin_mirror=mirror), tmp_path)
    config = Path(env["TF_CLI_CONFIG_FILE"]).read_text()
    assert f'path    = "{mirror}"' in config
    assert 'exclude = ["registry.terraform.io/hashicorp/*"]' in config
    assert cli_config_env(Settings(tf_plugin_mirror=tmp_path / "absent"), tmp_path) == {}


def test_state_in_s3_is_kept_there_locked_and_destroyed_from_there(
    local_target: Target, tmp_path: Path
) -> None:
    s3 = local_target.aws.client("s3")
    s3.create_bucket(Bucket="runner-states")
    key = "states/runner-remote/direct.tfstate"
    remote = (RemoteState.parse("s3://runner-states/states/"), "runner-remote/direct.tfstate")
    deployment = Deployment(
        "direct",
        tmp_path / "work",
        local_target.aws.env(),
        {"run_id": "runner-remote"},
        Settings(),
        remote=remote,
    )

    with deployment:
        kept = json.loads(s3.get_object(Bucket="runner-states", Key=key)["Body"].read())
        assert [r["type"] for r in kept["resources"] if r["mode"] == "managed"]
        assert deployment.state_resources() == ["aws_dynamodb_table.this"]
        root = tmp_path / "work" / "terraform" / "patterns" / "direct"
        assert not (root / "terraform.tfstate").exists()  # .terraform/ holds the backend's

    after = json.loads(s3.get_object(Bucket="runner-states", Key=key)["Body"].read())
    assert after["resources"] == []
    listed = s3.list_objects_v2(Bucket="runner-states").get("Contents", [])
    assert [o["Key"] for o in listed] == [key]  # the lock file went with the apply
    assert "direct-read-model" not in " ".join(
        local_target.aws.client("dynamodb").list_tables()["TableNames"]
    )


def test_a_state_location_that_is_not_s3_is_one_line() -> None:
    with pytest.raises(UserError, match=r"give an S3 location, s3://bucket/prefix"):
        RemoteState.parse("/tmp/states")
