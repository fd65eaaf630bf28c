"""Render a run's results, a comparison of runs, or a published site's index of runs, each
as one self-contained HTML page (inline CSS; charts drawn by the bundled uPlot, inlined: no
external assets)."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.cost.estimate import SECONDS_PER_MONTH
from harness.report.charts import (
    bundled_script,
    bundled_style,
    comparison_charts,
    run_charts,
)
from harness.report.compare import Comparison
from harness.report.flow import chains, hop_rows, published_hops
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
    hops = hop_rows(results)
    page = _env.get_template("index.html.j2").render(
        r=results,
        hops=hops,
        flows=chains(hops),
        published_as_of=published_hops().as_of,
        seconds_per_month=SECONDS_PER_MONTH,
        charts=[c.model_dump() for c in run_charts(results)],
        uplot_js=bundled_script(),
        uplot_css=bundled_style(),
    )
    path.write_text(page)
    return path


def write_comparison(comparison: Comparison, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    page = _env.get_template("compare.html.j2").render(
        c=comparison,
        charts=[chart.model_dump() for chart in comparison_charts(comparison)],
        uplot_js=bundled_script(),
        uplot_css=bundled_style(),
    )
    path.write_text(page)
    return path


def render_runs_index(runs: list[dict[str, Any]]) -> str:
    """The index page of a published site: its runs (a site manifest's entries)."""
    return _env.get_template("runs.html.j2").render(runs=runs)
