"""Lambda deployment packages for Terraform: every `functions/<name>/` directory of a pattern
becomes `functions/<name>.zip` beside it before apply.

Only hashicorp/aws is available offline (no archive provider), so the harness zips. The
archive is byte-for-byte reproducible (sorted entries, fixed timestamps and modes), so
`filebase64sha256` in the module changes only when the code does: no drift between runs.
"""

import zipfile
from pathlib import Path

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_IGNORED = ("__pycache__", ".pytest_cache")


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


def _zip(source: Path) -> Path:
    files = (
        path
        for path in source.rglob("*")
        if path.is_file() and not any(part in _IGNORED for part in path.parts)
    )
    entries = {path.relative_to(source).as_posix(): path.read_bytes() for path in files}
    return write_zip(source.with_suffix(".zip"), entries)
