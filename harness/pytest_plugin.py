"""pytest plugin: a scenario's service-level objectives as test items.

`pytest --cdcbench-scenario FILE` runs the scenario once (on the first of its items to
run) and adds one item per objective of its `slo:` section, each passing or failing by
`harness.slo.judge`; every item records the run's report and results.json as JUnit
properties. Without the option the plugin adds nothing and imports nothing of the harness.
"""

from __future__ import annotations

import os
import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.report.results import Results
    from harness.scenario import Scenario
    from harness.settings import Settings
    from harness.slo import Objective

_PLUGIN = "cdcbench-slo"
TARGET_VARIABLE = "CDCBENCH_TARGET"
REPORT_PROPERTY = "cdcbench_report"
RESULTS_PROPERTY = "cdcbench_results"
VERDICT_PROPERTY = "cdcbench_slo"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's options; nothing else happens unless `--cdcbench-scenario` is given."""
    group = parser.getgroup("cdcbench", "cdcbench: a scenario's service-level objectives")
    group.addoption(
        "--cdcbench-scenario",
        type=Path,
        metavar="FILE",
        help="run this scenario once and check each objective of its slo: section as a test",
    )
    group.addoption(
        "--cdcbench-target",
        default=os.environ.get(TARGET_VARIABLE, "local"),
        metavar="T",
        help="where the scenario and the e2e tests' runs go (default: CDCBENCH_TARGET, else "
        "local; see `cdcbench run --help`)",
    )
    group.addoption(
        "--cdcbench-reports-dir",
        type=Path,
        metavar="DIR",
        help="where the run directory goes (default: reports, or CDCBENCH_REPORTS_DIR)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """The chosen target becomes `CDCBENCH_TARGET` for the runs the session starts (`pytest -m
    e2e --cdcbench-target localstack`); with a scenario, the session gets its objectives (the
    hooks of `ScenarioRun`)."""
    target = config.getoption("cdcbench_target")
    if target != os.environ.get(TARGET_VARIABLE, "local"):  # other sessions' environment untouched
        os.environ[TARGET_VARIABLE] = target
    if config.getoption("cdcbench_scenario") is None:
        return
    config.addinivalue_line("markers", "e2e: full deploy / load / verify runs against a target")
    config.pluginmanager.register(ScenarioRun(config), _PLUGIN)


class SloFailed(Exception):
    """An objective the run did not meet (or could not be judged): its one-line message."""


class ScenarioRun:
    """The session's scenario: read when the session starts, run once by the first of its
    items to run, and its verdicts."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.path: Path = config.getoption("cdcbench_scenario")
        self.target: str = config.getoption("cdcbench_target")
        self.reports_dir: Path | None = config.getoption("cdcbench_reports_dir")
        self.scenario: Scenario | None = None
        self.settings: Settings | None = None
        self.objectives: list[Objective] = []
        self.ran = False
        self.run_dir: Path | None = None
        self.results: Results | None = None
        self.error: str | None = None
        """Why the run gave no results (every objective fails with it)."""
        self.internal: BaseException | None = None
        """An unexpected exception of the run (its traceback ends the session's summary)."""

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """A bad scenario, target or setting is a usage error of one line."""
        from pydantic import ValidationError

        from harness.errors import UserError
        from harness.scenario import load_scenario
        from harness.settings import Settings
        from harness.slo import objectives
        from harness.targets import TARGETS

        if self.target not in TARGETS:
            choices = ", ".join(sorted(TARGETS))
            raise pytest.UsageError(
                f"--cdcbench-target: invalid choice {self.target!r} (choose from {choices})"
            )
        try:
            self.scenario = load_scenario(self.path)
            settings = Settings()
        except UserError as exc:
            raise pytest.UsageError(f"--cdcbench-scenario: {exc}") from None
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise pytest.UsageError(
                f"cdcbench settings: CDCBENCH_{str(problem['loc'][0]).upper()}: {problem['msg']}"
            ) from None
        if self.reports_dir is not None:
            settings = settings.model_copy(update={"reports_dir": self.reports_dir})
        self.settings = settings
        self.objectives = objectives(self.scenario)
        if not self.objectives:
            raise pytest.UsageError(
                f"--cdcbench-scenario: {self.path}: no objectives to check: add an `slo:` section"
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Added before `-k` and `-m` select among the items."""
        path = self.path.resolve()
        try:
            nodeid = path.relative_to(config.rootpath).as_posix()
        except ValueError:
            nodeid = path.as_posix()
        scenario = ScenarioFile.from_parent(session, path=path, nodeid=nodeid)
        added = list(scenario.collect())
        items.extend(added)
        report = pytest.CollectReport(scenario.nodeid, "passed", None, added)
        session.ihook.pytest_collectreport(report=report)

    def outcome(self) -> None:
        """Run the scenario, the first time it is asked for; keep its results or its error."""
        if self.ran:
            return
        self.ran = True
        from harness import pipeline
        from harness.errors import UserError

        assert self.scenario is not None and self.settings is not None
        reports_dir = self.settings.reports_dir.resolve()
        try:
            with self._live_output(), _interrupts():
                print(f"\ncdcbench: running {self.path} on target {self.target}", flush=True)
                outcome = pipeline.run(self.scenario, self.target, self.settings)
        except UserError as exc:
            self.error = str(exc)
        except Exception as exc:
            self.error = f"internal error: {type(exc).__name__}: {exc}"
            self.internal = exc
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a pytest outcome raised inside it: pytest-timeout's
            self.error = f"the run was stopped: {exc}"
            self._find_stopped_run(reports_dir, judged=False)
            raise
        else:
            self.run_dir, self.results = outcome.run_dir, outcome.results
            return
        self._find_stopped_run(reports_dir, judged=True)

    def _find_stopped_run(self, reports_dir: Path, judged: bool) -> None:
        """The run directory this process wrote before the run stopped, if it made one (for
        its report); with `judged`, its results too, which say how each pattern ended."""
        from harness.errors import UserError
        from harness.report.results import read_results
        from harness.run_files import RESULTS

        assert self.scenario is not None
        candidates = reports_dir.glob(f"*-{self.scenario.name}-*/{RESULTS}")
        for path in sorted(candidates, key=lambda p: p.stat().st_mtime, reverse=True):
            try:
                results = read_results(path.parent)
            except UserError:
                continue
            if results.pid == os.getpid() and results.finished_at is not None:
                self.run_dir = path.parent
                if judged and results.status != "running":
                    self.results = results
                return

    def verdict(self, objective: Objective) -> tuple[bool, str]:
        """The objective judged on the run's results, or the run's error when it has none."""
        from harness.slo import judge

        if self.results is None:
            return False, self.error or "the scenario did not run"
        return judge(objective, self.results)

    def properties(self) -> list[tuple[str, object]]:
        """The run's report and results.json, once it wrote them."""
        from harness.run_files import REPORT, RESULTS

        if self.run_dir is None:
            return []
        return [
            (REPORT_PROPERTY, str(self.run_dir / REPORT)),
            (RESULTS_PROPERTY, str(self.run_dir / RESULTS)),
        ]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Where the run's report is (and an internal error's traceback, once)."""
        if self.internal is not None:
            terminalreporter.section("cdcbench internal error")
            text = "".join(traceback.format_exception(self.internal))
            terminalreporter.write(text)
        if self.run_dir is not None:
            from harness.run_files import REPORT

            terminalreporter.write_line(f"cdcbench report: {self.run_dir / REPORT}")

    def _live_output(self) -> Any:
        """The run's progress reaches the terminal as it happens, as `cdcbench run`'s does."""
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        return capture.global_and_fixture_disabled() if capture is not None else nullcontext()


@contextmanager
def _interrupts() -> Iterator[None]:
    """SIGTERM (and SIGINT) raise KeyboardInterrupt while the run goes on, so it tears down
    what it created, as under `cdcbench run`; the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from harness import signals

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signals.install()
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class ScenarioFile(pytest.File):
    """The scenario file as a collector: one item per objective."""

    def collect(self) -> Iterator[SloItem]:
        run: ScenarioRun = self.config.pluginmanager.get_plugin(_PLUGIN)
        for objective in run.objectives:
            item = SloItem.from_parent(self, name=f"slo[{objective.name}]", objective=objective)
            item.add_marker(pytest.mark.e2e)
            yield item


class SloItem(pytest.Item):
    """One objective: passes if the session's run met it."""

    def __init__(self, *, objective: Objective, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.objective = objective

    def runtest(self) -> None:
        run: ScenarioRun = self.config.pluginmanager.get_plugin(_PLUGIN)
        try:
            run.outcome()
        finally:  # a run stopped by pytest (its timeout) may have written its report
            self.user_properties.extend(run.properties())
        passed, message = run.verdict(self.objective)
        self.user_properties.append((VERDICT_PROPERTY, message))
        if not passed:
            raise SloFailed(message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SloFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name
