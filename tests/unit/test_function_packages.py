"""Function packages: one reproducible zip per function directory, caches left out."""

import os
import zipfile
from pathlib import Path

from harness.function_packages import build_packages


def _function(root: Path, name: str, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / "functions" / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_each_function_directory_becomes_a_zip_of_its_files(tmp_path: Path) -> None:
    _function(tmp_path, "projector", {"projector.py": "a", "lib/items.py": "b"})
    _function(tmp_path, "other", {"other.py": "c", "__pycache__/other.cpython-311.pyc": "x"})
    (tmp_path / "functions" / "README").write_text("not a function")

    built = build_packages(tmp_path)

    assert [p.name for p in built] == ["other.zip", "projector.zip"]
    with zipfile.ZipFile(tmp_path / "functions" / "projector.zip") as archive:
        assert sorted(archive.namelist()) == ["lib/items.py", "projector.py"]
        assert archive.read("lib/items.py") == b"b"
    with zipfile.ZipFile(tmp_path / "functions" / "other.zip") as archive:
        assert archive.namelist() == ["other.py"]


def test_packages_are_byte_for_byte_reproducible(tmp_path: Path) -> None:
    _function(tmp_path, "projector", {"projector.py": "code", "items.py": "more"})
    first = build_packages(tmp_path)[0].read_bytes()
    for path in (tmp_path / "functions" / "projector").iterdir():
        os.utime(path, (1_000_000_000, 1_000_000_000))
        path.chmod(0o600)

    assert build_packages(tmp_path)[0].read_bytes() == first


def test_a_module_without_functions_builds_nothing(tmp_path: Path) -> None:
    assert build_packages(tmp_path) == []
