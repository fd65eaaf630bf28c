"""A throwaway PostgreSQL cluster with logical decoding enabled.

initdb/pg_ctl are driven directly: testcontainers needs a Docker engine, and no
library manages a bare-metal cluster. As root the cluster runs as an
unprivileged OS user (PostgreSQL refuses root), via `runuser`.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from harness.errors import UserError
from harness.local.component import Component
from harness.local.tls import write_self_signed
from harness.process import free_port, spawn
from harness.process import stop as stop_process

_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_INSTALL_HINT = "install PostgreSQL server binaries (Debian/Ubuntu: apt-get install postgresql)"
DATABASE = "cdcbench"


def find_bindir(configured: Path | None = None) -> Path:
    """Directory holding initdb, pg_ctl and postgres.

    A configured directory is used as given; otherwise PATH, `pg_config --bindir`
    and the Debian layout (/usr/lib/postgresql/<version>/bin, newest first).
    """
    candidates: list[Path] = []
    if configured:
        candidates.append(configured)
    else:
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(os.path.realpath(on_path)).parent)
        pg_config = shutil.which("pg_config")
        if pg_config:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=False
            )
            if out.returncode == 0:
                candidates.append(Path(out.stdout.strip()))
        debian = (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin"))
        candidates += sorted(debian, key=lambda p: int(p.parent.name), reverse=True)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in _SERVER_BINARIES):
            return bindir
    missing = next(n for n in _SERVER_BINARIES if not any((c / n).is_file() for c in candidates))
    where = f" in {configured} (CDCBENCH_PG_BINDIR)" if configured else ""
    raise UserError(f"PostgreSQL server binary '{missing}' not found{where}: {_INSTALL_HINT}")


_HBA = """\
local all postgres trust
host  all postgres 127.0.0.1/32 trust
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
"""


class PostgresCluster(Component):
    """initdb + pg_ctl start on a free port; `stop()` removes every trace. The source
    database, not the emulator: no `processes` to sample."""

    title = "PostgreSQL"

    def __init__(self, bindir: Path, os_user: str, log_dir: Path) -> None:
        self.bindir = bindir
        self.log_dir = log_dir
        self.port = 0
        self._base: Path | None = None
        self._reaper: subprocess.Popen[bytes] | None = None
        """Stops the server if the harness dies without stopping it."""
        self._as_user: list[str] = []
        self._uid = self._gid = -1
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(os_user)
            except KeyError:
                raise UserError(
                    f"OS user '{os_user}' to run PostgreSQL as does not exist: create it "
                    "(useradd --system postgres) or set CDCBENCH_PG_OS_USER"
                ) from None
            if not shutil.which("runuser"):
                raise UserError(
                    "'runuser' not found (needed to run PostgreSQL as root): install util-linux"
                )
            self._as_user = ["runuser", "-u", os_user, "--"]
            self._uid, self._gid = account.pw_uid, account.pw_gid

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={DATABASE} sslmode=disable"

    @property
    def data_dir(self) -> Path:
        assert self._base is not None, "cluster not started"
        return self._base / "data"

    @property
    def postmaster_pid(self) -> int | None:
        """PID of the running server (None when stopped)."""
        pid_file = self.data_dir / "postmaster.pid" if self._base else None
        if pid_file is None or not pid_file.exists():
            return None
        return int(pid_file.read_text().split("\n", 1)[0])

    @property
    def _log(self) -> Path:
        assert self._base is not None, "cluster not started"
        return self._base / "postgres.log"

    def start(self) -> None:
        self._base = Path(tempfile.mkdtemp(prefix="cdcbench-pg-"))
        if self._as_user:
            os.chown(self._base, self._uid, self._gid)
            if subprocess.run(
                [*self._as_user, "test", "-w", str(self._base)], check=False
            ).returncode:
                raise UserError(
                    f"{self._base} is not writable by OS user '{self._as_user[2]}': "
                    "set TMPDIR to a directory every user can traverse (e.g. /tmp)"
                )
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        for attempt in range(3):
            self.port = free_port()
            self._configure()
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self._log),
                    "-w",
                    "-t",
                    "60",
                    "start",
                    new_session=True,
                )
                break
            except UserError:
                if attempt == 2:
                    raise
        self._reaper = spawn(
            "harness.local.orphan_reaper",
            ["--data-dir", str(self.data_dir), "--remove", str(self._base)],
            self.log_dir / "orphan_reaper.log",
        )
        with psycopg.connect(self.dsn.replace(DATABASE, "postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def refuse_source(self, refusing: bool) -> None:
        """Take the source database down for its clients, or bring it back. Down, every
        session of it ends (open transactions abort, replication connections break) and it
        accepts no connection, as a restarting server; its replication slots persist. The
        RDS databases beside it (the same server) stay up, as separate instances would."""
        with psycopg.connect(self.dsn.replace(DATABASE, "postgres"), autocommit=True) as conn:
            allow = "false" if refusing else "true"
            conn.execute(f"ALTER DATABASE {DATABASE} ALLOW_CONNECTIONS {allow}")
            if refusing:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (DATABASE,),
                )

    def _configure(self) -> None:
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self._base}'",
            "wal_level": "logical",
            "max_replication_slots": "32",
            "max_wal_senders": "32",
            "max_connections": "200",
            "ssl": "on",
            "ssl_cert_file": "'server.crt'",
            "ssl_key_file": "'server.key'",
        }
        cert, key = self.data_dir / "server.crt", self.data_dir / "server.key"
        write_self_signed(cert, key)
        if self._as_user:
            for path in (cert, key):
                os.chown(path, self._uid, self._gid)
        conf = self.data_dir / "postgresql.auto.conf"
        conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        # the superuser (the harness, the source's readers) is trusted; every other role
        # (an RDS database's master user, `harness.local.rds`) must give its password
        (self.data_dir / "pg_hba.conf").write_text(_HBA)

    def stop(self) -> None:
        """Fast shutdown, then remove the data directory. Safe to call twice."""
        if self._reaper is not None:
            stop_process(self._reaper)
            self._reaper = None
        if self._base is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop"
                )
            except UserError:
                self._kill_postmaster()
        if self._log.exists():
            self.log_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self._log, self.log_dir / "postgres.log")
        shutil.rmtree(self._base, ignore_errors=True)
        self._base = None

    def _kill_postmaster(self) -> None:
        pid = self.postmaster_pid
        if pid is None:
            return
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def _run(self, binary: str, *args: str, new_session: bool = False) -> None:
        cmd = [*self._as_user, str(self.bindir / binary), *args]
        out = subprocess.run(
            cmd, capture_output=True, text=True, start_new_session=new_session, check=False, cwd="/"
        )
        if out.returncode != 0:
            lines = (out.stderr or out.stdout).strip().splitlines() or ["(no output)"]
            raise UserError(
                f"PostgreSQL {binary} failed: {lines[-1]} (log: {self.log_dir / 'postgres.log'})"
            )
