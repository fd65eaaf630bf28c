"""Function packages: one reproducible zip per function directory, caches left out, with its
requirements installed (once, then from the cache) when it has a requirements.txt."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import function_packages
from harness.errors import UserError
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


@pytest.fixture
def package_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty package cache, so the first build installs with pip."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "cdcbench" / "packages"


def _imported_from(archive_path: Path, into: Path, module: str) -> list[str]:
    """[file, version] of `module` imported from the extracted zip first on sys.path (in a
    child Python: a second copy in this one would outlive the test)."""
    with zipfile.ZipFile(archive_path) as archive:
        archive.extractall(into)
    code = (
        f"import sys; sys.path.insert(0, {str(into)!r}); import {module}; "
        f"print({module}.__file__); print({module}.__version__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_requirements_are_installed_into_the_zip_and_cached(
    tmp_path: Path, package_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _function(
        tmp_path,
        "subscriber",
        {"subscriber.py": "import six\n", "requirements.txt": "six==1.17.0\n"},
    )

    built = build_packages(tmp_path)[0]
    first = built.read_bytes()

    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
    assert "subscriber.py" in names and "six.py" in names
    assert "requirements.txt" not in names
    assert not [n for n in names if n.endswith((".pyc", "/RECORD", "/INSTALLER"))]
    extracted = tmp_path / "extracted"
    assert _imported_from(built, extracted, "six") == [str(extracted / "six.py"), "1.17.0"]
    assert len(list(package_cache.iterdir())) == 1

    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran again although the requirements are cached")

    monkeypatch.setattr(function_packages.subprocess, "run", no_pip)
    assert build_packages(tmp_path)[0].read_bytes() == first


def test_a_requirement_pip_cannot_install_is_a_user_error(
    tmp_path: Path, package_cache: Path
) -> None:
    _function(tmp_path, "subscriber", {"subscriber.py": "", "requirements.txt": "six ==== 1\n"})

    with pytest.raises(UserError, match=r"pip could not install .*requirements\.txt.*: fix"):
        build_packages(tmp_path)

    assert not package_cache.exists() or not list(package_cache.iterdir())
