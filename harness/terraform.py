"""Apply a pattern's root module, read its outputs, and always destroy it; or only plan it.

tftest runs the commands. Each deployment works in its own copy of the
`terraform/` tree inside the run directory (tftest runs Terraform in the module
directory itself, and two runs must never share state), with variables in an
auto-loaded tfvars file, endpoints in the environment, and one log per command. A plan
(`Deployment.plan()`, for a plan-only run or a preflight) is saved in the module directory and
returned as Terraform's JSON plan; it creates nothing, so it needs no destroy.
"""

import json
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO, TypeVar
from urllib.parse import urlparse

import tftest

from harness import progress, signals
from harness.errors import UserError
from harness.function_packages import build_packages
from harness.settings import Settings

TERRAFORM_DIR = Path(__file__).resolve().parents[1] / "terraform"
_MIRRORED_NAMESPACE = "registry.terraform.io/hashicorp/*"
PLAN_FILE = "cdcbench.tfplan"
BACKEND_FILE = "cdcbench_backend.tf"
"""Written into a root module whose state goes to S3 (the modules declare no backend)."""
R = TypeVar("R")


class TerraformError(UserError):
    """A Terraform command failed; the message names the first error and the log."""


def find_terraform(settings: Settings) -> str:
    found = shutil.which(settings.terraform_bin)
    if not found:
        raise UserError(
            f"terraform not found ('{settings.terraform_bin}'): install Terraform >= 1.5 "
            "or set CDCBENCH_TERRAFORM_BIN to its path"
        )
    return found


def cli_config_env(settings: Settings, workdir: Path) -> dict[str, str]:
    """Point Terraform at the filesystem provider mirror when one exists; else keep its defaults."""
    mirror = settings.tf_plugin_mirror
    if not (mirror / "registry.terraform.io").is_dir():
        return {}
    config = workdir / "terraform.rc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
        f'    include = ["{_MIRRORED_NAMESPACE}"]\n  }}\n'
        f'  direct {{\n    exclude = ["{_MIRRORED_NAMESPACE}"]\n  }}\n'
        "}\n"
    )
    return {"TF_CLI_CONFIG_FILE": str(config)}


def automation_env(settings: Settings, workdir: Path) -> dict[str, str]:
    """Terraform's environment for unattended runs: no prompts, no update checks, and the
    provider mirror's CLI config (written into `workdir`) when the machine has one."""
    base = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    return {**base, **cli_config_env(settings, workdir)}


class _LineLog(logging.Handler):
    """Receives tftest's per-line output of the command its thread runs: appends it to the
    command log, shows progress."""

    def __init__(self, log: TextIO, detail: progress.Update) -> None:
        super().__init__(logging.INFO)
        self.log, self.detail = log, detail
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:  # another deployment's command, run at the same time
            return
        if record.levelno != logging.INFO:  # tftest repeats the whole output in its error record
            return
        line = record.getMessage()
        self.log.write(line + "\n")
        if ": " in line and not line.startswith("["):
            self.detail(line)


@dataclass(frozen=True)
class RemoteState:
    """Terraform state in S3 (`s3://bucket/prefix`), locked by a lock file beside it, so a
    deployment whose host is lost can still be destroyed."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> "RemoteState":
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise UserError(f"--state {url!r}: give an S3 location, s3://bucket/prefix")
        return cls(parsed.netloc, parsed.path.strip("/"))

    @classmethod
    def of_run(cls, url: str | None, run_id: str, name: str) -> "tuple[RemoteState, str] | None":
        """A `Deployment`'s `remote` for deployment `name` of run `run_id` when the run keeps
        its state at `url` (`--state`); None when it keeps it locally."""
        return (cls.parse(url), f"{run_id}/{name}.tfstate") if url else None

    def backend_config(self, key: str, env: dict[str, str]) -> dict[str, str]:
        """`-backend-config` values for the state at `prefix/key` (path-style addressing
        where S3 is an emulator's endpoint)."""
        config = {
            "bucket": self.bucket,
            "key": "/".join(p for p in (self.prefix, key) if p),
            "region": env.get("AWS_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
            "use_lockfile": "true",
        }
        endpoints = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
        if any(env.get(v) or os.environ.get(v) for v in endpoints):
            config["use_path_style"] = "true"
        return config


class Deployment:
    """`with Deployment(...) as d:` applies, exposes `d.outputs`, and destroys on any exit.

    `Deployment(...).plan()`, without `with`, only plans: nothing is created, nothing is left
    to destroy.
    """

    def __init__(
        self,
        module: str,
        workdir: Path,
        env: dict[str, str],
        variables: dict[str, Any],
        settings: Settings,
        before_destroy: Callable[["Deployment"], None] | None = None,
        remote: tuple[RemoteState, str] | None = None,
        folder: str = "patterns",
    ) -> None:
        """`module`: a root module in `terraform/<folder>/` (a pattern, or a module applied
        as a root of its own). `before_destroy` runs before every destroy (its failure is
        logged, not raised): e.g. stopping what the provider would stop more slowly.
        `remote`: the state goes to S3 under that key (e.g. `<run id>/<pattern>.tfstate`),
        not into `workdir`."""
        self.module = module
        self.before_destroy = before_destroy
        self.workdir = workdir = workdir.resolve()
        self.timings: dict[str, float] = {}
        self.outputs: dict[str, Any] = {}
        self._logs = workdir / "logs"
        self._root = workdir / "terraform" / folder / module
        self._initialised = False
        self._destroyed = False
        binary = find_terraform(settings)
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            TERRAFORM_DIR,
            workdir / "terraform",
            ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"),
        )
        (self._root / "terraform.tfvars.json").write_text(json.dumps(variables, indent=2))
        build_packages(self._root)
        self._logs.mkdir(exist_ok=True)
        self._backend: dict[str, str] = {}
        if remote is not None:
            (self._root / BACKEND_FILE).write_text('terraform {\n  backend "s3" {}\n}\n')
            self._backend = remote[0].backend_config(remote[1], env)
        self._tf = tftest.TerraformTest(
            str(self._root), binary=binary, env={**automation_env(settings, workdir), **env}
        )

    def __enter__(self) -> "Deployment":
        try:
            with signals.deferred(f"terraform apply of {self.module}"):
                self._destroyed = False
                self._init()
                self._command("apply", lambda: self._tf.apply(input=False))
                raw = self._command("output", lambda: self._tf.output(json_format=True))
                self.outputs = {name: raw[name] for name in raw}
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    def plan(self) -> dict[str, Any]:
        """What an apply would do, without doing it: `terraform plan` saved to a file,
        then its `terraform show -json` (`planned_values`, `resource_changes`, ...), parsed.

        Reads data sources and checks the configuration against the endpoints and
        credentials of the environment; writes no state, so there is nothing to destroy.
        """
        plan_file = self._root / PLAN_FILE
        args = ("-no-color", "-input=false", "-lock-timeout=300s", f"-out={plan_file}")
        self._init()
        self._command("plan", lambda: self._tf.execute_command("plan", *args))
        shown = self._command(
            "show", lambda: self._tf.execute_command("show", "-no-color", "-json", str(plan_file))
        )
        try:
            parsed = json.loads(shown.out)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            log = self._logs / "show.log"
            raise TerraformError(f"terraform show of {self.module} gave no JSON plan (log: {log})")
        return parsed

    def state(self) -> dict[str, Any]:
        """The deployment's Terraform state (what it applied, until destroyed), wherever it
        is kept; {} before anything was applied."""
        if self._backend:
            if not self._initialised:
                return {}
            pulled = self._command("state", lambda: self._tf.execute_command("state", "pull"))
            return dict(json.loads(pulled.out or "{}"))
        state_file = self._root / "terraform.tfstate"
        return dict(json.loads(state_file.read_text() or "{}")) if state_file.exists() else {}

    def destroy(self) -> None:
        """Destroy whatever the state records; waits for a lock an interrupted apply still holds.
        Once destroyed, again is a no-op until the next apply."""
        if self._destroyed or (
            not (self._root / "terraform.tfstate").exists()
            and not (self._backend and self._initialised)
        ):
            return
        args = ("-no-color", "-input=false", "-auto-approve", "-lock-timeout=300s")
        with signals.deferred(f"terraform destroy of {self.module}"):
            self.stop()
            self._command("destroy", lambda: self._tf.execute_command("destroy", *args))
        shutil.rmtree(self._root / ".terraform", ignore_errors=True)
        self._initialised = False
        self._destroyed = True

    def stop(self) -> None:
        """Run `before_destroy` (its failure is shown, not raised)."""
        if self.before_destroy is None or self._destroyed:
            return
        try:
            self.before_destroy(self)
        except Exception as exc:
            progress.console.print(
                f"[yellow]before destroying {self.module}: {type(exc).__name__}: {exc}[/]"
            )

    def state_attributes(self, resource_type: str, attribute: str) -> list[Any]:
        """`attribute` of every managed resource of `resource_type` the state records."""
        return [
            instance["attributes"][attribute]
            for resource in self._managed()
            if resource["type"] == resource_type
            for instance in resource.get("instances", [])
        ]

    def state_resources(self) -> list[str]:
        """Addresses of the resources the state still records (empty after a clean destroy)."""
        return [f"{r['type']}.{r['name']}" for r in self._managed()]

    def _managed(self) -> list[dict[str, Any]]:
        return [r for r in self.state().get("resources", []) if r["mode"] == "managed"]

    def _init(self) -> None:
        """`terraform init`, once per working copy (again after a destroy removed it)."""
        if not self._initialised:
            config = self._backend or None
            self._command("init", lambda: self._tf.init(input=False, init_vars=config))
            self._initialised = True

    def _command(self, name: str, run: Callable[[], R]) -> R:
        log_path = self._logs / f"{name}.log"
        logger = logging.getLogger("tftest")
        started = time.monotonic()
        with progress.step(f"terraform {name} {self.module}") as detail, open(log_path, "a") as log:
            handler = _LineLog(log, detail)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
            try:
                return run()
            except tftest.TerraformTestError as exc:
                stderr = exc.cmd_error or str(exc)
                log.write(stderr)
                failure = f"terraform {name} of {self.module} failed: {_first_error(stderr)}"
                raise TerraformError(f"{failure} (log: {log_path})") from None
            finally:
                logger.removeHandler(handler)
                self.timings[f"{name}_s"] = round(time.monotonic() - started, 3)


class Teardown:
    """Destroys left to run in the background while the next deployments apply (a run's
    patterns one after another: the provider's waits overlap), finished before anything is
    measured again (`finish`) and before the run ends."""

    def __init__(self) -> None:
        self._pending: list[threading.Thread] = []
        self._failures: list[BaseException] = []
        self._modules: set[str] = set()
        self._account_wide = False
        """A destroy under way deletes a resource an account holds once (its `owner`)."""

    def later(self, deployments: Sequence[Deployment], owner: int | None) -> None:
        """Destroy `deployments` (the `owner` last) in the background. What must stop before
        anything else runs (`before_destroy`: the DMS tasks) stops now."""
        for deployment in deployments:
            deployment.stop()
        self._modules |= {d.module for d in deployments}
        self._account_wide |= owner is not None

        def destroy() -> None:
            try:
                _destroy_all(deployments, owner)
            except BaseException as exc:
                self._failures.append(exc)

        thread = threading.Thread(target=destroy, name="tf-destroy", daemon=True)
        thread.start()
        self._pending.append(thread)

    def clear_of(self, modules: Iterable[str], account_wide: bool = False) -> None:
        """`finish` first if a destroy under way is of one of `modules` (the same root module
        names the same resources, which an apply would meet while they are being deleted), or,
        for deployments that create a resource an account holds once (`account_wide`: DMS's
        dms-vpc-role), if one under way deletes it."""
        if self._modules & set(modules) or (account_wide and self._account_wide):
            self.finish()

    def finish(self) -> None:
        """Wait for the destroys under way (an interrupt waits too); raise the first failure."""
        with signals.deferred("terraform destroys"):
            for thread in self._pending:
                thread.join()
        self._pending.clear()
        self._modules.clear()
        self._account_wide = False
        if self._failures:
            failure, self._failures = self._failures[0], []
            raise failure


@contextmanager
def deployed(
    deployments: Sequence[Deployment], owner: int | None = None, teardown: Teardown | None = None
) -> Iterator[None]:
    """Apply the deployments at once, and destroy them all at once when the block ends, however
    it ends (the provider's waits are sleeps: side by side, they overlap). An interrupt is held
    off until every apply (or destroy) has finished; the first failure is raised after the rest
    have finished, and then everything is destroyed. `owner`: the deployment holding what the
    others need (an account's single dms-vpc-role), destroyed after them. `teardown`: a block
    that ends without an error leaves its destroys to it."""
    try:
        if len(deployments) == 1:
            deployments[0].__enter__()
        else:
            _at_once("terraform applies", [d.__enter__ for d in deployments])
    except BaseException:
        _destroy_all(deployments, owner)
        raise
    try:
        yield
    except BaseException:
        _destroy_all(deployments, owner)
        raise
    if teardown is None:
        _destroy_all(deployments, owner)
    else:
        teardown.later(deployments, owner)


def _destroy_all(deployments: Sequence[Deployment], owner: int | None) -> None:
    others = [d for i, d in enumerate(deployments) if i != owner]
    try:
        if len(others) == 1:
            others[0].destroy()
        elif others:
            _at_once("terraform destroys", [d.destroy for d in others])
    finally:
        if owner is not None:
            deployments[owner].destroy()


def _at_once(what: str, steps: Sequence[Callable[[], object]]) -> None:
    with signals.deferred(what), ThreadPoolExecutor(len(steps), thread_name_prefix="tf") as pool:
        futures = [pool.submit(step) for step in steps]
    failures = [f.exception() for f in futures if f.exception() is not None]
    if failures:
        raise failures[0]  # type: ignore[misc]


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("Error:"):
            detail = line + (f" {lines[i + 1]}" if i + 1 < len(lines) else "")
            return detail[:300]
    return (lines[0] if lines else "no error output")[:300]


def terraform_version(settings: Settings) -> str:
    """`terraform version` of the binary the runner would use."""
    out = subprocess.run(
        [find_terraform(settings), "version", "-json"], capture_output=True, text=True, check=False
    )
    try:
        return str(json.loads(out.stdout)["terraform_version"])
    except (ValueError, KeyError):
        return "unknown"
