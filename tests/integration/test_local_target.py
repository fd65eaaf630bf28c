"""The local target starts a real PostgreSQL and moto, and leaves nothing behind."""

import socket
from pathlib import Path

import psycopg
import pytest

from harness.local.moto_server import MotoServer
from harness.local.postgres import PostgresCluster
from harness.settings import Settings
from harness.targets.local import LocalTarget
from tests.helpers import alive, run_cli

pytestmark = pytest.mark.slow


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.serial  # its freed ports are checked closed: no other test may take them
def test_target_serves_logical_postgres_and_aws_api_then_leaves_nothing(tmp_path: Path) -> None:
    target = LocalTarget(Settings(), tmp_path / "logs")
    with target:
        postgres, moto_server = target.component(PostgresCluster), target.component(MotoServer)
        with psycopg.connect(target.source_dsn) as conn:
            assert conn.execute("SHOW wal_level").fetchone() == ("logical",)
        identity = target.aws.client("sts").get_caller_identity()
        assert identity["Account"]
        base = postgres.data_dir.parent
        postmaster, moto = postgres.postmaster_pid, moto_server.pid
        ports = (postgres.port, moto_server.port)
        assert postmaster and moto and alive(postmaster) and alive(moto)
    assert not base.exists()
    assert not alive(postmaster) and not alive(moto)
    assert not any(_port_open(p) for p in ports)
    assert (tmp_path / "logs" / "postgres.log").read_text()
    assert (tmp_path / "logs" / "moto.log").exists()


def test_target_is_torn_down_when_the_body_raises(tmp_path: Path) -> None:
    target = LocalTarget(Settings(), tmp_path / "logs")
    with pytest.raises(RuntimeError, match="boom"), target:
        postgres = target.component(PostgresCluster)
        base, postmaster, moto = (
            postgres.data_dir.parent,
            postgres.postmaster_pid,
            target.component(MotoServer).pid,
        )
        raise RuntimeError("boom")
    assert postmaster and moto
    assert not base.exists()
    assert not alive(postmaster) and not alive(moto)


def test_missing_postgres_binaries_is_one_line_naming_binary_and_package(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "scenarios/smoke.yaml",
        "--reports-dir",
        str(tmp_path / "reports"),
        env={"CDCBENCH_PG_BINDIR": str(tmp_path)},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("cdcbench: error: PostgreSQL server binary 'initdb' not found")
    assert "apt-get install postgresql" in lines[-1]
    assert "Traceback" not in result.stderr
