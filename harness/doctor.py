"""`cdcbench doctor`: is this machine ready for each target? One line per item, with the fix."""

import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import UserError
from harness.local.postgres import find_bindir
from harness.settings import Settings
from harness.terraform import find_terraform, terraform_version


@dataclass
class Finding:
    item: str
    ok: bool
    detail: str
    required: bool = True


def _terraform(settings: Settings) -> Finding:
    try:
        path = find_terraform(settings)
    except UserError as exc:
        return Finding("terraform", False, str(exc))
    return Finding("terraform", True, f"{terraform_version(settings)} at {path}")


def _provider(settings: Settings) -> Finding:
    aws = settings.tf_plugin_mirror / "registry.terraform.io" / "hashicorp" / "aws"
    if aws.is_dir():
        versions = ", ".join(sorted(p.name for p in aws.iterdir())) or "no versions"
        return Finding(
            "aws provider", True, f"filesystem mirror {settings.tf_plugin_mirror} ({versions})"
        )
    try:
        socket.create_connection(("registry.terraform.io", 443), timeout=3).close()
    except OSError:
        return Finding(
            "aws provider",
            False,
            f"no mirror at {settings.tf_plugin_mirror} and registry.terraform.io unreachable: "
            "set CDCBENCH_TF_PLUGIN_MIRROR to a filesystem mirror holding hashicorp/aws 5.x",
        )
    return Finding("aws provider", True, "registry.terraform.io reachable")


def _postgres(settings: Settings) -> Finding:
    try:
        bindir = find_bindir(settings.pg_bindir)
    except UserError as exc:
        return Finding("postgresql", False, str(exc))
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    return Finding("postgresql", True, f"{out.stdout.strip()} in {bindir}")


def _os_user(settings: Settings) -> Finding:
    if os.geteuid() != 0:
        return Finding("postgres os user", True, "not root: the cluster runs as the current user")
    try:
        pwd.getpwnam(settings.pg_os_user)
    except KeyError:
        return Finding(
            "postgres os user",
            False,
            f"running as root and OS user '{settings.pg_os_user}' is missing: "
            "useradd --system postgres, or set CDCBENCH_PG_OS_USER",
        )
    if not shutil.which("runuser"):
        return Finding("postgres os user", False, "'runuser' not found: install util-linux")
    return Finding("postgres os user", True, f"root: the cluster runs as '{settings.pg_os_user}'")


def _docker(_: Settings) -> Finding:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return Finding(
            "docker engine",
            False,
            "no Docker engine: only needed to start LocalStack with testcontainers; "
            "the local target does not need it",
            required=False,
        )
    return Finding("docker engine", True, "reachable", required=False)


CHECKS: tuple[Callable[[Settings], Finding], ...] = (
    _terraform,
    _provider,
    _postgres,
    _os_user,
    _docker,
)


def diagnose(settings: Settings) -> list[Finding]:
    return [check(settings) for check in CHECKS]
