"""Which target a run goes to: `--target`, else `CDCBENCH_TARGET`, else local; `pytest
--cdcbench-target T` sets `CDCBENCH_TARGET` for the runs its tests start (`pytest -m e2e`
on LocalStack or AWS); a target that does not exist is one line."""

import subprocess
import sys
from pathlib import Path

from tests.helpers import run_cli


def test_an_unknown_target_from_the_environment_is_one_line() -> None:
    proc = run_cli("run", "scenarios/smoke.yaml", env={"CDCBENCH_TARGET": "mars"})

    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "cdcbench: error: unknown target 'mars' (CDCBENCH_TARGET): "
        "choose one of local, localstack, aws"
    )


def test_an_unknown_target_flag_is_one_line() -> None:
    proc = run_cli("run", "scenarios/smoke.yaml", "--target", "mars")

    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "invalid choice: 'mars'" in proc.stderr


def test_pytest_passes_its_target_to_the_runs_of_the_session(tmp_path: Path) -> None:
    (tmp_path / "test_reads_target.py").write_text(
        "import os\n\n\ndef test_target():\n"
        "    assert os.environ['CDCBENCH_TARGET'] == 'localstack'\n"
    )

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "--cdcbench-target", "localstack", str(tmp_path / "test_reads_target.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stdout[-2000:]
