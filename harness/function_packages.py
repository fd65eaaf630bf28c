"""Lambda deployment packages for Terraform: every `functions/<name>/` directory of a pattern
becomes `functions/<name>.zip` beside it before apply.

Only hashicorp/aws is available offline (no archive provider), so the harness zips. The
archive is byte-for-byte reproducible (sorted entries, fixed timestamps and modes), so
`filebase64sha256` in the module changes only when the code does: no drift between runs.

A function directory with a `requirements.txt` gets those packages in its zip, installed by
pip (which does the resolving) as pure-Python wheels for Lambda's Python on any architecture.
An install is cached by the hash of the requirements, under
`$XDG_CACHE_HOME/cdcbench/packages/` (default `~/.cache`), so repeated applies reuse it.
What pip records about the install itself (INSTALLER, REQUESTED, RECORD, direct_url.json,
console scripts with this machine's interpreter path) and bytecode stay out of the zip.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from harness import progress
from harness.errors import UserError

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_IGNORED = ("__pycache__", ".pytest_cache")
REQUIREMENTS = "requirements.txt"
LAMBDA_PYTHON = "3.12"
"""The Python version wheels are chosen for (the patterns' Lambda runtime, python3.12)."""
_PIP_OPTIONS = (
    "--only-binary=:all:",
    "--platform=any",
    "--implementation=py",
    f"--python-version={LAMBDA_PYTHON}",
    "--no-compile",
    "--no-input",
    "--disable-pip-version-check",
)
_INSTALL_RECORDS = ("INSTALLER", "REQUESTED", "RECORD", "direct_url.json")
"""Files pip writes into a .dist-info about the install itself, not the package."""


def build_packages(module_root: Path) -> list[Path]:
    """Zip each function directory under `module_root/functions`; the archives made."""
    functions = module_root / "functions"
    if not functions.is_dir():
        return []
    return [_zip(source) for source in sorted(functions.iterdir()) if source.is_dir()]


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    """A zip of `entries` (name -> content) in name order, with fixed times and modes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            entry = zipfile.ZipInfo(name, _FIXED_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, entries[name])
    return path


def cache_dir() -> Path:
    """Where installed requirements are kept, one directory per requirements hash."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cdcbench" / "packages"


def install_requirements(requirements: Path) -> Path:
    """The directory holding `requirements` installed for Lambda (installed on first use)."""
    text = requirements.read_bytes()
    digest = hashlib.sha256(b"\0".join([text, *(o.encode() for o in _PIP_OPTIONS)]))
    target = cache_dir() / digest.hexdigest()[:32]
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        with progress.step(f"installing {requirements.parent.name}/{REQUIREMENTS} (pip)"):
            command = [sys.executable, "-m", "pip", "install", "--quiet", "--target"]
            done = subprocess.run(
                [*command, str(staging), *_PIP_OPTIONS, "-r", str(requirements)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
                reason = (errors or done.stderr.strip().splitlines() or ["no output"])[-1]
                reason = reason.removeprefix("ERROR: ")
                raise UserError(
                    f"pip could not install {requirements} ({reason}): fix the requirement or "
                    "make PyPI (or your pip index) reachable"
                )
        try:
            staging.rename(target)
        except OSError:  # another build installed the same requirements first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _files(root: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Relative name -> content of the files under `root`, caches left out."""
    entries = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        ignored = any(part in _IGNORED for part in relative.parts)
        if path.is_file() and not ignored and relative.as_posix() not in skip:
            entries[relative.as_posix()] = path.read_bytes()
    return entries


def _installed(requirements: Path) -> dict[str, bytes]:
    """The zip entries of the installed requirements, without pip's records of the install."""
    entries = _files(install_requirements(requirements))
    return {
        name: content
        for name, content in entries.items()
        if not name.startswith("bin/")
        and not (".dist-info/" in name and name.rsplit("/", 1)[-1] in _INSTALL_RECORDS)
        and not name.endswith(".pyc")
    }


def _zip(source: Path) -> Path:
    requirements = source / REQUIREMENTS
    entries = _installed(requirements) if requirements.is_file() else {}
    entries.update(_files(source, skip=(REQUIREMENTS,)))
    return write_zip(source.with_suffix(".zip"), entries)
