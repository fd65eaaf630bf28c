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


def _zip(source: Path) -> Path:
    package = source.with_suffix(".zip")
    files = sorted(
        path
        for path in source.rglob("*")
        if path.is_file() and not any(part in _IGNORED for part in path.parts)
    )
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), _FIXED_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    return package
