"""Machine-level settings, read from `CDCBENCH_*` environment variables.

Scenario files say what to run; these say where the tools are on this machine.
"""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from harness.local.lambda_runtime.timing import LambdaTiming
from harness.local.moto_groups import DEFAULT_SPLIT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CDCBENCH_", env_nested_delimiter="__", extra="ignore"
    )

    terraform_bin: str = "terraform"
    """Terraform binary: a name looked up on PATH, or a path."""
    tf_plugin_mirror: Path = Path("/opt/tf-plugins")
    """Filesystem provider mirror; used only when it exists."""
    reports_dir: Path = Path("reports")
    pg_bindir: Path | None = None
    """PostgreSQL server binaries; found via PATH, pg_config or /usr/lib/postgresql otherwise."""
    pg_os_user: str = "postgres"
    """OS user that runs the throwaway PostgreSQL cluster when the harness runs as root."""
    aws_region: str = "us-east-1"
    """Region of the emulated targets (the `aws` target takes the standard chain's)."""
    target: str = "local"
    """Where `cdcbench run` runs when `--target` is not given (CDCBENCH_TARGET)."""
    yes: bool = False
    """Create billable resources without asking, as `--yes` (CDCBENCH_YES=1: unattended
    runs on AWS, e.g. `pytest -m e2e --cdcbench-target aws`)."""
    localstack_image: str = "localstack/localstack:4.4"
    """The image the `localstack` target starts when no endpoint is given (pinned: images
    after 2026-03-23 need LOCALSTACK_AUTH_TOKEN)."""
    connector_plugins_dir: Path = Path("plugins")
    """MSK Connect plugin archives, `<name>.zip` (e.g. confluentinc-kafka-connect-s3.zip),
    for targets that run real MSK Connect; the local target needs none."""
    lambda_timing: LambdaTiming = LambdaTiming()
    """Poll cadences of the local Lambda runtime (AWS's by default), e.g.
    CDCBENCH_LAMBDA_TIMING__KINESIS_POLL_S=0; recorded with the results."""
    fis_extension_parameter: str = (
        "/aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x"
    )
    """The SSM parameter holding the layer ARN of AWS FIS's Lambda extension (for x86_64
    functions) that the `aws` target puts on a pattern's functions for its Lambda faults: the
    region's public one by default; name another to pin a version."""
    moto_split: str = DEFAULT_SPLIT
    """Groups of services the local target serves from a moto process each, beside the main
    one serving the rest (`harness.local.moto_groups`), e.g. CDCBENCH_MOTO_SPLIT=sqs+kinesis;
    `none`: one moto process serves every service."""
