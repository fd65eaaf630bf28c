"""Render results as one self-contained HTML page (inline CSS, no external assets)."""

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.report.results import Results

_env = Environment(
    loader=PackageLoader("harness.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def write_html(results: Results, run_dir: Path) -> Path:
    path = run_dir / "index.html"
    path.write_text(_env.get_template("index.html.j2").render(r=results))
    return path
