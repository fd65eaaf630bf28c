"""Apply a pattern's root module, read its outputs, and always destroy it.

tftest runs the commands. Each deployment works in its own copy of the
`terraform/` tree inside the run directory (tftest runs Terraform in the module
directory itself, and two runs must never share state), with variables in an
auto-loaded tfvars file, endpoints in the environment, and one log per command.
"""

import json
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO, TypeVar

import tftest

from harness import progress, signals
from harness.errors import UserError
from harness.function_packages import build_packages
from harness.settings import Settings

TERRAFORM_DIR = Path(__file__).resolve().parents[1] / "terraform"
_MIRRORED_NAMESPACE = "registry.terraform.io/hashicorp/*"
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
    """Receives tftest's per-line output: appends it to the command log, shows progress."""

    def __init__(self, log: TextIO, detail: progress.Update) -> None:
        super().__init__(logging.INFO)
        self.log, self.detail = log, detail

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno != logging.INFO:  # tftest repeats the whole output in its error record
            return
        line = record.getMessage()
        self.log.write(line + "\n")
        if ": " in line and not line.startswith("["):
            self.detail(line)


class Deployment:
    """`with Deployment(...) as d:` applies, exposes `d.outputs`, and destroys on any exit."""

    def __init__(
        self,
        module: str,
        workdir: Path,
        env: dict[str, str],
        variables: dict[str, Any],
        settings: Settings,
        before_destroy: Callable[["Deployment"], None] | None = None,
    ) -> None:
        """`before_destroy` runs before every destroy (its failure is logged, not raised):
        e.g. stopping what the provider would stop more slowly."""
        self.module = module
        self.before_destroy = before_destroy
        self.workdir = workdir = workdir.resolve()
        self.timings: dict[str, float] = {}
        self.outputs: dict[str, Any] = {}
        self._logs = workdir / "logs"
        self._root = workdir / "terraform" / "patterns" / module
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
        self._tf = tftest.TerraformTest(
            str(self._root), binary=binary, env={**automation_env(settings, workdir), **env}
        )

    def __enter__(self) -> "Deployment":
        try:
            with signals.deferred(f"terraform apply of {self.module}"):
                self._command("init", lambda: self._tf.init(input=False))
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

    @property
    def state_path(self) -> Path:
        """The deployment's Terraform state (what it applied, until destroyed)."""
        return self._root / "terraform.tfstate"

    def destroy(self) -> None:
        """Destroy whatever the state records; waits for a lock an interrupted apply still holds."""
        if not (self._root / "terraform.tfstate").exists():
            return
        args = ("-no-color", "-input=false", "-auto-approve", "-lock-timeout=300s")
        with signals.deferred(f"terraform destroy of {self.module}"):
            if self.before_destroy is not None:
                try:
                    self.before_destroy(self)
                except Exception as exc:
                    progress.console.print(
                        f"[yellow]before destroying {self.module}: {type(exc).__name__}: {exc}[/]"
                    )
            self._command("destroy", lambda: self._tf.execute_command("destroy", *args))
        shutil.rmtree(self._root / ".terraform", ignore_errors=True)

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
        state_file = self._root / "terraform.tfstate"
        state = json.loads(state_file.read_text() or "{}") if state_file.exists() else {}
        return [r for r in state.get("resources", []) if r["mode"] == "managed"]

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
