"""The charts of a run's report, as data for uPlot (bundled in `assets/`, see its README):
per pattern, lag over time (p50 and p99 per window, each projection's floor, the schema
change) and throughput over time (offered, committed, observed per projection); for the
whole run, the lag CDF of every projection on a log axis. A comparison's: each projection's
p99 lag and anomalies across the runs.

Each chart is a `Chart`: uPlot's aligned data (x values, then one list per series, None
where a series has no point) and how to draw each series. The page's script only hands
them to uPlot."""

from pathlib import Path

from pydantic import BaseModel

from harness.report.compare import Comparison
from harness.report.results import PatternResult, Results

ASSETS = Path(__file__).with_name("assets")
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


class Series(BaseModel):
    label: str
    color: str
    dash: bool = False
    points: bool = False
    """Draw its points, not only a line (sparse series such as a CDF)."""


class Marker(BaseModel):
    x: float
    label: str


class Chart(BaseModel):
    id: str
    title: str
    x_label: str
    y_label: str
    x_log: bool = False
    y_log: bool = False
    x_whole: bool = False
    """Its x values are whole numbers (runs): ticks only there."""
    series: list[Series]
    data: list[list[float | None]]
    markers: list[Marker] = []


def run_charts(results: Results) -> list[Chart]:
    """Every chart of the report: the run's lag CDF, then each pattern's two."""
    charts = [c for c in (_cdf(results),) if c]
    for index, (name, pattern) in enumerate(results.patterns.items()):
        charts += [
            c
            for c in (_lag_over_time(index, name, pattern), _throughput(index, name, pattern))
            if c
        ]
    return charts


def comparison_charts(comparison: Comparison) -> list[Chart]:
    """p99 lag and anomalies of every compared projection, run by run (the baseline first)."""
    runs = list(range(1, len(comparison.runs) + 1))
    labels = [f"{row.pattern} / {row.projection}" for row in comparison.rows]
    lags: list[list[float | None]] = [list(map(float, runs))]
    anomalies: list[list[float | None]] = [list(map(float, runs))]
    for row in comparison.rows:
        cells = {cell.run_id: cell for cell in row.cells}
        shown = [cells.get(run) for run in comparison.runs]
        lags.append([_positive(c.p99_ms) if c and c.p99_ms is not None else None for c in shown])
        anomalies.append([float(c.anomalies) if c else None for c in shown])
    series = [
        Series(label=label, color=_color(i), dash=i >= len(_PALETTE), points=True)
        for i, label in enumerate(labels)
    ]
    x_label = "run (1: the baseline; in the order given)"
    return [
        Chart(
            id="p99-across-runs",
            x_whole=True,
            title="p99 lag from commit, run by run",
            x_label=x_label,
            y_label="p99 lag (ms, log)",
            y_log=True,
            series=series,
            data=lags,
        ),
        Chart(
            id="anomalies-across-runs",
            x_whole=True,
            title="Anomalies, run by run",
            x_label=x_label,
            y_label="anomalies",
            series=series,
            data=anomalies,
        ),
    ]


def bundled_script() -> str:
    return (ASSETS / "uPlot.iife.min.js").read_text()


def bundled_style() -> str:
    return (ASSETS / "uPlot.min.css").read_text()


def _color(index: int) -> str:
    return _PALETTE[index % len(_PALETTE)]


def _cdf(results: Results) -> Chart | None:
    curves = {
        f"{name} / {projection_name}": projection.lag.cdf
        for name, pattern in results.patterns.items()
        for projection_name, projection in pattern.projections.items()
        if projection.lag and projection.lag.cdf
    }
    if not curves:
        return None
    xs = sorted({max(point.ms, 0.001) for cdf in curves.values() for point in cdf})
    data: list[list[float | None]] = [list(xs)]
    for cdf in curves.values():
        at = {max(point.ms, 0.001): point.fraction for point in cdf}
        data.append([at.get(x) for x in xs])
    return Chart(
        id="lag-cdf",
        title="Lag from commit, all projections (CDF)",
        x_label="lag (ms, log)",
        y_label="share of changes",
        x_log=True,
        series=[
            Series(label=label, color=_color(i), dash=i >= len(_PALETTE), points=True)
            for i, label in enumerate(curves)
        ],
        data=data,
    )


def _markers(pattern: PatternResult) -> list[Marker]:
    """The schema change, and each fault's start and end, on the charts' time axis."""
    throughput = pattern.throughput
    if throughput is None:
        return []
    moments = [(f.started_ns, f"{f.kind} starts") for f in pattern.faults]
    moments += [(f.ended_ns, f"{f.kind} ends") for f in pattern.faults]
    if pattern.schema_change is not None:
        moments.append((pattern.schema_change.acked_ns, "schema change"))
    return [
        Marker(x=round((ns - throughput.origin_ns) / 1e9, 3), label=label)
        for ns, label in sorted((ns, label) for ns, label in moments if ns is not None)
    ]


def _lag_over_time(index: int, name: str, pattern: PatternResult) -> Chart | None:
    measured = {p: r for p, r in pattern.projections.items() if r.lag and r.lag.over_time}
    if not measured:
        return None
    xs = sorted({w.start_s for r in measured.values() for w in r.lag.over_time})  # type: ignore[union-attr]
    data: list[list[float | None]] = [list(xs)]
    series: list[Series] = []
    for i, (projection_name, result) in enumerate(measured.items()):
        windows = {w.start_s: w for w in result.lag.over_time}  # type: ignore[union-attr]
        for quantile in ("p50", "p99"):
            data.append(
                [_positive(getattr(windows[x], quantile)) if x in windows else None for x in xs]
            )
            series.append(
                Series(
                    label=f"{projection_name} {quantile}", color=_color(i), dash=quantile == "p50"
                )
            )
        if result.floor_ms > 0:
            data.append([result.floor_ms for _ in xs])
            series.append(Series(label=f"{projection_name} floor", color=_color(i), dash=True))
    return Chart(
        id=f"lag-{index}",
        title=f"{name}: lag from commit over time",
        x_label="commit time (s after the first commit)",
        y_label="lag (ms, log)",
        y_log=True,
        series=series,
        data=data,
        markers=_markers(pattern),
    )


def _throughput(index: int, name: str, pattern: PatternResult) -> Chart | None:
    throughput = pattern.throughput
    if throughput is None:
        return None
    width = len(throughput.committed_per_s)
    xs = [round(i * throughput.window_s, 3) for i in range(width)]
    data: list[list[float | None]] = [
        list(xs),
        list(throughput.offered_per_s),
        list(throughput.committed_per_s),
    ]
    series = [
        Series(label="offered", color="#7f7f7f", dash=True),
        Series(label="committed", color="#000000"),
    ]
    for i, (projection_name, rates) in enumerate(throughput.observed_per_s.items()):
        data.append(list(rates))
        series.append(Series(label=f"observed in {projection_name}", color=_color(i)))
    return Chart(
        id=f"throughput-{index}",
        title=f"{name}: changes per second",
        x_label="time (s after the first commit)",
        y_label="changes/s",
        series=series,
        data=data,
        markers=_markers(pattern),
    )


def _positive(value: float) -> float:
    """A log axis has no zero: a lag under a microsecond is drawn at one."""
    return max(value, 0.001)
