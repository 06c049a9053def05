"""SweepDashboard: a sweep's summary columns (<metric>_mean / <metric>_drift, the toy's world_*
measures) against any of its config fields, with 95% intervals over runs, and a pivot table."""

from __future__ import annotations

import html
from pathlib import Path

from .. import plots
from ._base import FigurePanel, View, set_html

X_FIELDS = ("num_sections", "num_frames", "seconds", "latent_window_size", "flow_shift", "num_inference_steps")
NONE = "(none)"
TABLE_MODES = ("summary", "runs")
_NOT_FIELDS = {"run_id", "sample_seconds", "frames", "sections"}


def load_table(table_or_results_dir):
    """A results table: a DataFrame, a results folder (table.parquet inside) or a parquet file."""
    import pandas as pd

    from ..experiment.store import RunStore

    if isinstance(table_or_results_dir, pd.DataFrame):
        return table_or_results_dir
    path = Path(table_or_results_dir)
    if path.is_dir():
        return RunStore(path).read_table()
    if not path.is_file():
        raise FileNotFoundError(f"no results table at {path} (run `fpkit run EXP.toml` first)")
    return pd.read_parquet(path)


def metric_columns(table) -> list[str]:
    """The columns a dashboard can plot: per-run summaries of metrics and the toy's world measures."""
    import pandas as pd

    return [c for c in table.columns if (c.endswith(("_mean", "_drift")) or c.startswith("world_"))
            and pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])]


def headline_column(table, columns) -> str:
    """What a sweep leads with: the first of fpkit.report.lead_measures it can plot (the toy's
    world-referenced drift, else drifts of metrics whose direction is unambiguous), else a drift."""
    from ..report import lead_measures

    leads = [c for c, _ in lead_measures(table) if c in columns]
    return (leads or [c for c in columns if c.endswith("_drift") and table[c].notna().any()] or columns)[0]


class SweepDashboard(View):
    """SweepDashboard(table_or_results_dir).

    Dropdowns pick the metric column (default: the sweep's headline measure, see headline_column),
    the x axis (any config field; lengths and window sizes first), the colour field (default: method
    when the sweep has several, else sampling_type) and a facet field (default: experiment when the
    table mixes experiments, never averaged together); `query` filters rows (pandas DataFrame.query).
    Shows fpkit.plots.sweep_plot (mean and 95% bootstrap interval over runs per point) and a table:
    "summary" pivots x (and facet) against colour with mean [95% interval] (n), "runs" lists the
    filtered runs. The export bar writes the figure as PNG, SVG or PDF."""

    def __init__(self, table_or_results_dir, export_folder: str = "figures"):
        import ipywidgets as w

        table = load_table(table_or_results_dir)
        metric_cols = metric_columns(table)
        if not metric_cols:
            raise ValueError(f"the table has no *_mean / *_drift / world_* columns; columns: {list(table.columns)}")
        self.table = table
        fields = [c for c in table.columns
                  if c not in metric_cols and c not in _NOT_FIELDS and table[c].map(_hashable).all()
                  and not c.startswith("world_") and c != "looks_like_world"]
        varying = [c for c in fields if table[c].nunique() > 1]
        xs = [c for c in X_FIELDS if c in fields] + [c for c in varying if c not in X_FIELDS] or fields
        groups = [c for c in fields if 1 < table[c].nunique() < len(table) or c == "sampling_type"]
        # colour by what the sweep compares: its methods when it has several, else the strategies
        colour = next((c for c in ("method", "sampling_type") if c in groups and table[c].nunique() > 1),
                      "sampling_type" if "sampling_type" in groups else NONE)
        facet = "experiment" if "experiment" in groups and table["experiment"].nunique() > 1 else NONE

        self.metric = w.Dropdown(options=metric_cols, value=headline_column(table, metric_cols), description="metric")
        self.x = w.Dropdown(options=xs, value=next((c for c in xs if c in varying), xs[0]), description="x")
        self.color = w.Dropdown(options=[NONE, *groups], value=colour, description="colour")
        self.facet = w.Dropdown(options=[NONE, *groups], value=facet, description="facet")
        self.query = w.Text(value="", placeholder="e.g. seed == 0 and num_frames > 60", description="filter",
                            continuous_update=False)
        self.table_mode = w.ToggleButtons(options=TABLE_MODES, value="summary", description="table")
        self.status = w.HTML()
        self.panel = FigurePanel()
        self.table_output = w.Output()
        for control in (self.metric, self.x, self.color, self.facet, self.query, self.table_mode):
            control.observe(lambda _: self.redraw(), names="value")
        self.widget = w.VBox([
            w.HBox([self.metric, self.x]), w.HBox([self.color, self.facet]), self.query, self.status,
            self.panel.output, self.export_bar(export_folder), self.table_mode, self.table_output,
        ])
        self.filtered = table
        self.redraw()

    @property
    def figure(self):
        return self.panel.figure

    @property
    def figures(self) -> dict:
        return {} if self.panel.figure is None else {"sweep": self.panel.figure}

    def _field(self, control):
        return None if control.value == NONE else control.value

    def summary(self):
        """The pivot shown under "summary": rows x (and facet), columns the colour field, cells
        "mean [low, high] (n)" over the filtered runs (fpkit.metrics.summarize)."""
        from ..metrics.stats import summarize

        metric, x, color, facet = self.metric.value, self.x.value, self._field(self.color), self._field(self.facet)
        data = self.filtered.dropna(subset=[metric])
        rows = [c for c in dict.fromkeys([facet, x]) if c]
        by = list(dict.fromkeys([*rows, *([color] if color else [])]))
        stats = summarize(data, by, value=metric, n_boot=2000)
        stats["cell"] = [f"{m:.4g}" + ("" if n < 2 else f" [{lo:.4g}, {hi:.4g}]") + f" ({n})"
                         for m, lo, hi, n in zip(stats.estimate, stats.low, stats.high, stats.n)]
        if not color or color in rows:
            return stats.set_index(rows)[["cell"]].rename(columns={"cell": metric})
        return stats.pivot(index=rows, columns=color, values="cell")

    def redraw(self) -> None:
        query = self.query.value.strip()
        try:
            data = self.table.query(query) if query else self.table
        except Exception as err:  # pandas raises many kinds for a bad expression
            self.status.value = (f"<span style='color:red'>bad filter {html.escape(query)!r}: "
                                 f"{html.escape(str(err))}</span>")
            return
        self.status.value = ""
        self.filtered = data
        metric, x, color, facet = self.metric.value, self.x.value, self._field(self.color), self._field(self.facet)
        if not len(data):
            self.panel.show_html("<i>no runs match the filter</i>")
            set_html(self.table_output, "")
            return
        self.panel.show(plots.sweep_plot(data, metric, x, color=color, facet=facet))
        if self.table_mode.value == "summary":
            view = self.summary()
            note = f"<small>{html.escape(metric)}: mean [95% bootstrap interval] (runs) per cell</small>"
            set_html(self.table_output, note + view.to_html())
            return
        shown = list(dict.fromkeys(c for c in (x, color, facet) if c))
        shown += [c for c in self.table.columns if c not in shown and c not in _NOT_FIELDS and c in self.x.options]
        shown += [c for c in ("seed", "run_id") if c in data and c not in shown] + [metric]
        view = data[shown].sort_values([c for c in (facet, color, x) if c])
        set_html(self.table_output, view.to_html(index=False, float_format=lambda v: f"{v:.4g}"))

    def save(self, path) -> Path:
        """Write the current figure to `path` (format from its suffix: .png, .svg or .pdf)."""
        from ._base import export_figures

        path = Path(path).expanduser()
        if self.figure is None:
            raise ValueError("no figure to save (no runs match the filter)")
        fmt = path.suffix.lstrip(".").lower()
        (written,) = export_figures({path.stem: self.figure}, path.parent, fmt)
        return written


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
