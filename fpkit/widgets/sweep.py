"""SweepDashboard: a sweep's summary columns (<metric>_mean / <metric>_drift) against its config."""

from __future__ import annotations

import html
from pathlib import Path

from .. import plots
from ._base import FigurePanel, View, set_html

X_FIELDS = ("num_frames", "seconds", "latent_window_size", "flow_shift", "num_inference_steps")
NONE = "(none)"
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


class SweepDashboard(View):
    """SweepDashboard(table_or_results_dir).

    Dropdowns pick the metric column, the x axis (among num_frames / seconds / latent_window_size /
    flow_shift / num_inference_steps present), the colour field (default: method when the sweep has
    several, else sampling_type) and a facet
    field; `query` filters rows (pandas DataFrame.query). Shows fpkit.plots.sweep_plot and the filtered
    table; "save figure" writes the current figure as PNG to the path in the text box."""

    def __init__(self, table_or_results_dir, save_path: str = "sweep.png"):
        import ipywidgets as w

        table = load_table(table_or_results_dir)
        metric_cols = [c for c in table.columns if c.endswith(("_mean", "_drift"))]
        if not metric_cols:
            raise ValueError(f"the table has no *_mean / *_drift columns; columns: {list(table.columns)}")
        self.table = table
        fields = [c for c in table.columns
                  if c not in metric_cols and c not in _NOT_FIELDS and table[c].map(_hashable).all()]
        xs = [c for c in X_FIELDS if c in table] or [c for c in fields if table[c].nunique() > 1] or fields
        varying = [c for c in xs if table[c].nunique() > 1]
        groups = [c for c in fields if 1 < table[c].nunique() < len(table) or c == "sampling_type"]
        # colour by what the sweep compares: its methods when it has several, else the strategies
        colour = next((c for c in ("method", "sampling_type") if c in groups and table[c].nunique() > 1),
                      "sampling_type" if "sampling_type" in groups else NONE)
        default_metric = next((c for c in metric_cols if c.endswith("_drift")), metric_cols[0])

        self.metric = w.Dropdown(options=metric_cols, value=default_metric, description="metric")
        self.x = w.Dropdown(options=xs, value=(varying or xs)[0], description="x")
        self.color = w.Dropdown(options=[NONE, *groups], value=colour, description="colour")
        self.facet = w.Dropdown(options=[NONE, *groups], value=NONE, description="facet")
        self.query = w.Text(value="", placeholder="e.g. seed == 0 and num_frames > 60", description="filter",
                            continuous_update=False)
        self.path = w.Text(value=str(save_path), description="save to")
        self.save_button = w.Button(description="save figure", icon="save")
        self.status = w.HTML()
        self.panel = FigurePanel()
        self.table_output = w.Output()
        for control in (self.metric, self.x, self.color, self.facet, self.query):
            control.observe(lambda _: self.redraw(), names="value")
        self.save_button.on_click(lambda _: self.save())
        self.widget = w.VBox([
            w.HBox([self.metric, self.x]), w.HBox([self.color, self.facet]), self.query,
            self.panel.output, w.HBox([self.path, self.save_button, self.status]), self.table_output,
        ])
        self.filtered = table
        self.redraw()

    @property
    def figure(self):
        return self.panel.figure

    @property
    def figures(self) -> dict:
        return {"sweep": self.panel.figure}

    def _field(self, control):
        return None if control.value == NONE else control.value

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
        else:
            self.panel.show(plots.sweep_plot(data, metric, x, color=color, facet=facet))
        shown = list(dict.fromkeys(c for c in (x, color, facet) if c))
        shown += [c for c in self.table.columns if c not in shown and c not in _NOT_FIELDS and c in self.x.options]
        shown += [c for c in ("seed", "run_id") if c in data and c not in shown] + [metric]
        view = data[shown].sort_values([c for c in (facet, color, x) if c]) if len(data) else data[shown]
        set_html(self.table_output, view.to_html(index=False, float_format=lambda v: f"{v:.4g}"))

    def save(self, path=None) -> Path:
        """Write the current figure as PNG (to `path` or the text box's path)."""
        path = Path(path or self.path.value).expanduser()
        if self.figure is None:
            self.status.value = "nothing to save"
            raise ValueError("no figure to save (no runs match the filter)")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.figure.savefig(path, dpi=150)
        self.status.value = f"saved {html.escape(str(path))}"
        return path


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
