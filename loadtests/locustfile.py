"""Locust load on the source PostgreSQL: `locust -f loadtests/locustfile.py --headless`.

Options (also from the environment): --scenario FILE (CDCBENCH_SCENARIO, default
scenarios/smoke.yaml: its workload, rate, users and shape), --dsn (CDCBENCH_DSN;
empty uses libpq's PG* variables), --ledger-dir (CDCBENCH_LEDGER_DIR, default
./ledger). The scenario's shape drives the user count, so -u/-r/-t are not needed.

Distributed (`--master` here, `locust --worker --master-host H -f loadtests/locustfile.py`
elsewhere): the master checks the database and runs the shape, and hands its scenario (and
application) to the workers. A worker keeps its own --dsn and --ledger-dir (or
CDCBENCH_DSN and CDCBENCH_LEDGER_DIR) where it has them, and otherwise takes the
master's (workers on the master's host). Given --workers-file, the master records there
the id of every worker that connected. A worker whose environment names a bucket
(CDCBENCH_LEDGER_BUCKET, with CDCBENCH_LEDGER_PREFIX) writes its ledger into a folder of
its own, `<ledger dir>/<worker id>/`, and puts that folder under
`s3://$CDCBENCH_LEDGER_BUCKET/$CDCBENCH_LEDGER_PREFIX<worker id>/` when its load stops
(the master ends it, or SIGTERM: Locust stops the users gracefully first), with boto3's
standard credentials; see harness.load.ledger_store.

Each user paces itself on a fixed schedule (rate_per_s / users) and records, for
every change, the intended and the commit-acknowledged time in this process's
ledger file. The schedule's wait happens in `wait_time`, and the stop timeout is
at least 30 s, so stopping never cuts a transaction off between its commit and
its ledger entry. psycopg 3 cooperates
with gevent by itself once Locust has monkey-patched (it waits with gevent's
poll), so users never block each other.
"""

import contextlib
import json
import logging
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import gevent
import psycopg
from locust import User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.user.task import LOCUST_STATE_STOPPING, LOCUST_STATE_WAITING

from harness.apps import Hooks, Spec, hooks
from harness.aws import AwsAccess
from harness.errors import UserError
from harness.load import schema
from harness.load.clock import measure_offset, write_offset
from harness.load.ledger import Change, ledger_writer
from harness.load.ledger_store import upload_ledger
from harness.load.schema_change import DDL_REQUEST, add_column
from harness.load.transactions import Outcome, connect, execute
from harness.load.workload import KeySpace, Workload
from harness.nemesis.faults import LOB_BURST
from harness.records import RecordWriter
from harness.scenario import Scenario, load_scenario

import gevent_wait
import shapes

gevent_wait.install()

_DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "smoke.yaml"
_MIN_STOP_TIMEOUT_S = 30.0
BUCKET_VARIABLE = "CDCBENCH_LEDGER_BUCKET"
PREFIX_VARIABLE = "CDCBENCH_LEDGER_PREFIX"
_OWN_OPTIONS = {"dsn": "", "ledger_dir": "ledger"}
"""A worker's own settings (option -> default) that win over the master's where it has
them: how it reaches the database from its host, and where it writes on its disk."""
_logger = logging.getLogger("cdcbench")


@events.init_command_line_parser.add_listener
def _arguments(parser) -> None:  # type: ignore[no-untyped-def]
    group = parser.add_argument_group("cdcbench")
    group.add_argument(
        "--scenario",
        env_var="CDCBENCH_SCENARIO",
        default=str(_DEFAULT_SCENARIO),
        help="scenario file (workload, rate, users, shape)",
    )
    group.add_argument(
        "--dsn",
        env_var="CDCBENCH_DSN",
        default="",
        help="libpq connection string of the source database",
    )
    group.add_argument(
        "--ledger-dir",
        env_var="CDCBENCH_LEDGER_DIR",
        default="ledger",
        help="directory for this run's ledger files (one per process)",
    )
    group.add_argument(
        "--application",
        env_var="CDCBENCH_APPLICATION",
        default="",
        help="JSON file {application, outputs}: run that application's hooks (a module of "
        "harness.apps, built from a deployment's outputs) in and after each transaction",
    )
    group.add_argument(
        "--workers-file",
        default="",
        help="master: record the ids of the workers that connected in this JSON file",
    )
    group.add_argument(
        "--parent-pid",
        type=int,
        default=0,
        help="stop the load (gracefully) when this process is gone, e.g. the harness killed",
    )


@dataclass(frozen=True)
class _Upload:
    """Where a worker puts its ledger folder when its load stops."""

    folder: Path
    bucket: str
    prefix: str
    writer: str


@dataclass
class _Process:
    """What the users of one process share: scenario, ledger, key space, hook, and how far
    the scenario's schema change has come."""

    scenario: Scenario
    dsn: str
    ledger: RecordWriter[Change]
    upload: _Upload | None = None
    keys: KeySpace = field(default_factory=KeySpace)
    hooks: Hooks = field(default_factory=Hooks)
    keys_refreshed: float = 0.0
    started: float = field(default_factory=time.monotonic)
    schema_changing: bool = False
    schema_changed: bool = False
    """The scenario's column exists: users write it."""
    finished: bool = False
    """The ledger is closed and the hooks are too."""
    uploaded: bool = False

    def bursting(self) -> bool:
        """Whether one of the scenario's LOB bursts is under way (by this process's clock)."""
        elapsed_s = time.monotonic() - self.started
        return any(
            f.kind == LOB_BURST and f.at_s <= elapsed_s < f.at_s + f.duration_s
            for f in self.scenario.faults
        )


_process: _Process | None = None
_own: dict[str, str] = {}
"""This worker's own `_OWN_OPTIONS`, read before the master's settings replace them."""


def _fail(message: str) -> NoReturn:
    """One line on stderr, exit code 2 (bad input), as the rest of cdcbench does."""
    print(f"cdcbench: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def _scenario(environment: Environment) -> Scenario:
    """The scenario file's; on a worker, the master's (whose shape sets the user count)."""
    options = environment.parsed_options
    shipped = getattr(options, "scenario_json", "")
    if options.worker and shipped:
        return Scenario.model_validate_json(shipped)
    return load_scenario(Path(options.scenario))


def _application(environment: Environment) -> Spec | None:
    """The --application file's spec; on a worker, the master's."""
    options = environment.parsed_options
    shipped = getattr(options, "application_json", "")
    if options.worker and shipped:
        data = json.loads(shipped)
        return Spec(data["application"], data["outputs"])
    return Spec.read(Path(options.application)) if options.application else None


@events.init.add_listener
def _check(environment: Environment, **_: object) -> None:
    """Master or single process: the scenario parses, the database answers, the schema exists.
    A worker keeps its own settings."""
    if environment.parsed_options is None:
        return
    if environment.parsed_options.worker:
        _worker_init(environment)
        return
    if isinstance(environment.runner, MasterRunner) and environment.parsed_options.workers_file:
        _record_workers(environment, Path(environment.parsed_options.workers_file))
    try:
        scenario = _scenario(environment)
        with psycopg.connect(
            environment.parsed_options.dsn, autocommit=True, connect_timeout=5
        ) as c:
            schema.ensure(c, scenario.source.replica_identity)
    except UserError as exc:
        _fail(str(exc))
    except psycopg.OperationalError as exc:
        _fail(f"cannot connect to PostgreSQL at {_where(environment)}: {_reason(exc)}")
    except psycopg.Error as exc:
        _fail(f"cannot create the source tables at {_where(environment)}: {_reason(exc)}")
    environment.shape_class = shapes.shape_for(scenario.load)
    environment.shape_class.runner = environment.runner
    # Users must finish a transaction they started (commit, then ledger) when the run stops:
    # without a stop timeout Locust kills them mid-commit. Workers get it from the master.
    environment.stop_timeout = max(environment.stop_timeout, _MIN_STOP_TIMEOUT_S)
    # Workers elsewhere have neither file: they get the contents with the master's options.
    options = environment.parsed_options
    options.scenario_json = scenario.model_dump_json()
    if options.application:
        options.application_json = Path(options.application).read_text()
    if options.parent_pid:
        gevent.spawn(_quit_with_parent, environment, options.parent_pid)


def _worker_init(environment: Environment) -> None:
    """Keep the worker's own settings: each spawn message from the master overwrites the
    options with the master's. (Runs before any spawn: the init event fires right after
    the worker connected, before the master's first message is handled.)"""
    options = environment.parsed_options
    _own.clear()
    _own.update(
        {
            name: value
            for name, default in _OWN_OPTIONS.items()
            if (value := getattr(options, name)) != default
        }
    )
    if options.parent_pid:
        gevent.spawn(_quit_with_parent, environment, options.parent_pid)


def _record_workers(environment: Environment, path: Path) -> None:
    """The ids of the workers that connected, in `path` (rewritten whole at each). Workers
    may connect as soon as the master listens, before this runs: those are known already."""
    connected: list[str] = []

    def record(client_id: str, **_: object) -> None:
        if client_id not in connected:
            connected.append(client_id)
        part = path.with_name(path.name + ".part")
        part.write_text(json.dumps({"connected": connected}))
        part.replace(path)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    environment.events.worker_connect.add_listener(record)
    for client_id in list(environment.runner.clients):
        record(client_id)


def _quit_with_parent(environment: Environment, parent_pid: int) -> None:
    """The load never outlives the harness that started it (killed, it cannot stop us)."""
    while os.getppid() == parent_pid:
        gevent.sleep(0.5)
    environment.runner.quit()


@events.test_start.add_listener
def _start(environment: Environment, **_: object) -> None:
    global _process
    if isinstance(environment.runner, MasterRunner):
        return
    options = environment.parsed_options
    dsn = _own.get("dsn", options.dsn)
    ledger_dir = Path(_own.get("ledger_dir", options.ledger_dir))
    upload = None
    bucket = os.environ.get(BUCKET_VARIABLE, "")
    if bucket and isinstance(environment.runner, WorkerRunner):
        writer = str(environment.runner.client_id)  # its id at the master: host, random part
        ledger_dir = ledger_dir / writer  # this process's own: the folder it uploads
        upload = _Upload(ledger_dir, bucket, os.environ.get(PREFIX_VARIABLE, ""), writer)
    ledger_dir.mkdir(parents=True, exist_ok=True)
    _process = _Process(_scenario(environment), dsn, ledger_writer(ledger_dir), upload)
    change = _process.scenario.schema_change
    if change is not None:
        schema.register_added(change.table, change.column, change.sql_type)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        write_offset(_process.ledger.path, measure_offset(conn))
    spec = _application(environment)
    if spec is not None:
        _process.hooks = hooks(spec, AwsAccess.from_env(os.environ), ledger_dir)


@events.test_stop.add_listener
def _stop(environment: Environment, **_: object) -> None:
    _finish(environment)


@events.quit.add_listener
def _quit(**_: object) -> None:
    """The process ends: what the load recorded is closed and uploaded, whichever way it
    stopped (a SIGTERM whose shutdown cut an upload short, say)."""
    _finish(None)  # too late to change the exit code: the error is logged


def _finish(environment: Environment | None) -> None:
    """Close the ledger and the hooks (once), then upload what they wrote (until it worked)."""
    process = _process
    if process is None:
        return
    if not process.finished:
        process.finished = True
        process.ledger.close()
        try:
            if process.hooks.close is not None:
                process.hooks.close()
        finally:
            _upload(process, environment)
    else:
        _upload(process, environment)


def _upload(process: _Process, environment: Environment | None) -> None:
    upload = process.upload
    if upload is None or process.uploaded:
        return
    where = f"s3://{upload.bucket}/{upload.prefix}{upload.writer}/"
    try:
        keys = upload_ledger(upload.folder, upload.bucket, upload.prefix, upload.writer)
    except Exception as exc:  # the harness names this worker when its ledger never arrives
        _logger.error("cdcbench: could not put the ledger into %s: %s", where, exc)
        if environment is not None:
            environment.process_exit_code = 1
        return
    process.uploaded = True
    _logger.info("cdcbench: put %d ledger file(s) into %s", len(keys) - 1, where)


class SourceWriter(User):
    """Makes the scenario's changes to the source database on its own fixed schedule."""

    def on_start(self) -> None:
        assert _process is not None, "test_start did not run"
        self.process = _process
        load = _process.scenario.load
        self.conn = connect(_process.dsn)
        self.workload = Workload(_process.scenario.workload, _process.keys)
        self.interval_ns = int(1e9 / load.rate_per_user)
        self.writes_added_column = False
        # Stagger users over one interval; Locust runs the first task right after on_start.
        self.intended_ns = time.time_ns() + random.randrange(self.interval_ns)
        time.sleep(self.wait_time())

    def on_stop(self) -> None:
        self.conn.close()

    def wait_time(self) -> float:
        return max(0.0, (self.intended_ns - time.time_ns()) / 1e9)

    def stop(self, force: bool = False) -> bool:
        """Stop after the pacing wait instead of killing a waiting user.

        Locust kills a user it sees waiting, but gevent may already have resumed it
        into its next operation: the kill would land between a commit and its ledger
        entry (or its post-commit hook). Marked as stopping, the user ends when its
        wait is over, before it starts anything. A forced stop still kills.
        """
        if not force and self._state == LOCUST_STATE_WAITING:
            self._state = LOCUST_STATE_STOPPING
            return False
        return bool(super().stop(force))

    @task
    def change(self) -> None:
        intended_ns, self.intended_ns = self.intended_ns, self.intended_ns + self.interval_ns
        self._change_schema()
        plan = self.workload.plan(self.process.bursting())
        name = f"{plan.op} (abort)" if plan.abort else plan.op
        started = time.perf_counter()
        outcome: Outcome | None = None
        try:
            self._refresh_keys()
            outcome = execute(self.conn, plan, intended_ns, self.process.hooks.before_commit)
        except psycopg.Error as exc:  # e.g. the source restarting: the next change retries
            self._report(name, started, 0, exc)
            self._reconnect()
            return
        for change in outcome.changes:
            self.process.ledger.append(change)
            if change.table == "widgets":
                self.process.keys.saw(int(change.key))
        self._report(
            name if outcome.changes else f"{plan.op} (no row)", started, len(outcome.changes)
        )
        if outcome.committed and self.process.hooks.after_commit is not None:
            self._post_commit(outcome)

    def _post_commit(self, outcome: Outcome) -> None:
        after_commit = self.process.hooks.after_commit
        assert after_commit is not None
        started = time.perf_counter()
        try:
            after_commit(outcome.changes, outcome.images)
        except Exception as exc:  # the projection misses it; the checker will say so
            self._report("post-commit", started, 0, exc)
            return
        self._report("post-commit", started, len(outcome.changes))

    def _change_schema(self) -> None:
        """Past the scenario's `at_s`, the first user of the process adds its column; every
        user writes the column once it exists."""
        spec, process = self.process.scenario.schema_change, self.process
        if spec is None or self.writes_added_column:
            return
        due = time.monotonic() - process.started >= spec.at_s
        if due and not (process.schema_changed or process.schema_changing):
            process.schema_changing = True
            started = time.perf_counter()
            try:
                ledger_dir = process.ledger.path.parent
                add_column(self.conn, spec.table, spec.column, spec.sql_type, ledger_dir)
                process.schema_changed = True
                self._report(DDL_REQUEST, started, 1)
            except psycopg.Error as exc:  # the load goes on without the column
                self._reconnect()
                self._report(DDL_REQUEST, started, 0, exc)
        if process.schema_changed:
            self.workload.add_column(spec.table, spec.column, schema.SQL_TYPES[spec.sql_type])
            self.writes_added_column = True

    def _reconnect(self) -> None:
        """A new connection in place of a broken one (kept broken while the source refuses:
        the next change tries again)."""
        if self.conn.broken or self.conn.closed:
            with contextlib.suppress(psycopg.OperationalError):
                self.conn = connect(self.process.dsn)

    def _refresh_keys(self) -> None:
        """Learn ids inserted by other processes (at most once a second per process)."""
        now = time.monotonic()
        if now - self.process.keys_refreshed < 1.0:
            return
        self.process.keys_refreshed = now
        row = self.conn.execute("SELECT last_value FROM widgets_id_seq").fetchone()
        if row:
            self.process.keys.saw(int(row["last_value"]))

    def _report(self, name: str, started: float, length: int, exc: Exception | None = None) -> None:
        self.environment.events.request.fire(
            request_type="sql",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=exc,
            context={},
        )


def _where(environment: Environment) -> str:
    params = psycopg.conninfo.conninfo_to_dict(environment.parsed_options.dsn)
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    return f"{host}:{port}"


def _reason(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
