"""TraceExplorer: step through a run's sections (generation or temporal order) and see what each one
produced, what context it saw (layout diagram), its sigma schedule and how long it took."""

from __future__ import annotations

from pathlib import Path

from .. import plots
from ._base import FigurePanel, View, load_run_dir

ORDERS = ("generation", "temporal")


class TraceExplorer(View):
    """TraceExplorer(run_or_trace, video=None, order="generation").

    run_or_trace: a Run (its video gives thumbnails), a Trace, or a folder (a saved trace, or a
    results run folder with trace/ and video.mp4). video: (T, 3, H, W) frames to use instead.
    `.figures`: {"layout", "schedule", "timings", "thumbnails"} (no "thumbnails" without a video),
    plus "attention" (slot x block heat map of the section) when the trace recorded attention; the
    export bar (or `export(folder, "svg")`) writes them as PNG, SVG or PDF."""

    def __init__(self, run_or_trace, video=None, order: str = "generation"):
        import ipywidgets as w

        from ..trace import Trace

        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        if isinstance(run_or_trace, (str, Path)):
            trace, folder_video, _ = load_run_dir(run_or_trace)
            if trace is None:
                raise FileNotFoundError(f"{run_or_trace} holds no trace")
            video = video if video is not None else folder_video
        elif isinstance(run_or_trace, Trace):
            trace = run_or_trace
        elif hasattr(run_or_trace, "trace"):
            trace = run_or_trace.trace
            video = video if video is not None else run_or_trace.video
        else:
            raise TypeError(f"TraceExplorer takes a Run, a Trace or a folder, got {type(run_or_trace).__name__}")
        if not trace.sections:
            raise ValueError("this trace has no sections")
        self.trace, self.video = trace, video
        self._sections_table = trace.to_frame("sections")

        self.order = w.ToggleButtons(options=ORDERS, value=order, description="order")
        self.slider = w.IntSlider(value=0, min=0, max=len(trace.sections) - 1, description="section",
                                  continuous_update=False)
        self.info = w.HTML()
        self.has_attention = any(r.attention is not None for r in trace.sections)
        names = ("thumbnails", "layout", "schedule", "timings") + (("attention",) if self.has_attention else ())
        self.panels = {name: FigurePanel() for name in names}
        self.order.observe(self._on_order, names="value")
        self.slider.observe(lambda _: self.redraw(), names="value")
        p = self.panels
        self.widget = w.VBox([
            w.HBox([self.order, self.slider]), self.info, p["thumbnails"].output, p["layout"].output,
            w.HBox([p["schedule"].output, p["timings"].output]),
            *([p["attention"].output] if self.has_attention else []), self.export_bar(),
        ])
        self.redraw()

    # -- state -----------------------------------------------------------------------------
    def sections(self):
        """SectionRecords in the chosen order."""
        return self.trace.sections if self.order.value == "generation" else self.trace.by_index()

    @property
    def section(self):
        """The SectionRecord shown."""
        return self.sections()[self.slider.value]

    @property
    def figures(self) -> dict:
        return {k: p.figure for k, p in self.panels.items() if p.figure is not None}

    @property
    def figure(self):
        """The context-layout figure."""
        return self.panels["layout"].figure

    def _on_order(self, change) -> None:
        # Keep the same section selected when the order flips.
        current = self.trace.sections if change["old"] == "generation" else self.trace.by_index()
        rec = current[self.slider.value]
        position = [r.plan.order for r in self.sections()].index(rec.plan.order)
        if position == self.slider.value:
            self.redraw()
        else:
            self.slider.value = position  # triggers redraw

    # -- drawing ---------------------------------------------------------------------------
    def redraw(self) -> None:
        rec, tr = self.section, self.trace
        s = rec.plan
        frames = tr.section_frames(s)
        seconds = f"{rec.seconds:.3g} s" if rec.seconds is not None else "time not recorded"
        self.info.value = (f"<b>order {s.order}</b> (generated {s.order + 1} of {s.num_sections}), "
                           f"<b>index {s.index}</b> (temporal); writes latents {s.window[0]}-{s.window[1] - 1} "
                           f"= video frames {frames.start}-{frames.stop - 1}; {s.layout}; {seconds}")
        thumbs = self.panels["thumbnails"]
        if self.video is None:
            thumbs.show_html("<i>No video: this view was built from a Trace alone, so there are no "
                             "thumbnails (pass <code>video=</code> or a Run).</i>")
        else:
            thumbs.show(plots.thumbnails(self.video, frames))
        self.panels["layout"].show(plots.context_layout(s, temporal_compression=tr.temporal_compression,
                                                        num_latents=tr.plan.num_latents))
        self.panels["schedule"].show(plots.schedule(rec.schedule))
        self.panels["timings"].show(plots.section_timings(self._sections_table, current=s.order,
                                                          order=self.order.value))
        if self.has_attention:
            if rec.attention is None:
                self.panels["attention"].show_html("<i>No attention recorded for this section.</i>")
            else:
                self.panels["attention"].show(plots.attention_heatmap(tr, order=s.order))
