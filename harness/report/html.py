"""Render a run's results, or a comparison of runs, as one self-contained HTML page (inline
CSS, no external assets)."""

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.report.compare import Comparison
from harness.report.results import Results
from harness.run_files import REPORT

_env = Environment(
    loader=PackageLoader("harness.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def write_html(results: Results, run_dir: Path) -> Path:
    path = run_dir / REPORT
    path.write_text(_env.get_template("index.html.j2").render(r=results))
    return path


def write_comparison(comparison: Comparison, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_env.get_template("compare.html.j2").render(c=comparison))
    return path
