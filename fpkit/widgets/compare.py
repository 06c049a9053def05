"""CompareRuns: several videos side by side on one frame scrubber, per-frame metric curves below."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from .. import plots
from ._base import FigurePanel, View, load_run_dir

DEFAULT_METRICS = ("laplacian_var", "brightness", "flicker")


def _as_item(run, index: int):
    """(label, video, fps, metrics table or None) of a Run, a run folder or a bare video."""
    if isinstance(run, (str, Path)):
        _, video, table = load_run_dir(run)
        if video is None:
            raise FileNotFoundError(f"{run} has no video.mp4")
        return Path(run).name, video, 30, table
    if hasattr(run, "video") and hasattr(run, "trace"):
        if run.video is None:
            raise ValueError(f"run {index} has no decoded video (output_type='latent')")
        settings = run.trace.settings
        methods = " + ".join(m["name"] for m in settings.get("methods") or [])
        label = settings.get("sampling_type", "run") + (f" + {methods}" if methods else "")
        return f"{index}: {label}", run.video, run.fps, None
    if hasattr(run, "shape") and len(run.shape) == 4:
        return f"video {index}", run, 30, None
    raise TypeError(f"CompareRuns takes Runs, run folders or (T, 3, H, W) videos; item {index} is "
                    f"{type(run).__name__}")


class CompareRuns(View):
    """CompareRuns(runs, labels=None, metrics=("laplacian_var", "brightness", "flicker")).

    runs: Runs, results run folders (runs/<run_id>/) or (T, 3, H, W) videos. Videos of different
    lengths share one scrubber; a video that has ended shows its last frame, faded.
    Metrics are computed once (fpkit.metrics.compute) unless a run folder already holds them.
    `.figures`: {"videos", "curves"}; `.table` the long per-frame metric table."""

    def __init__(self, runs, labels=None, metrics=DEFAULT_METRICS, interval_ms: int = 150):
        import ipywidgets as w
        import pandas as pd
        from tqdm.auto import tqdm

        from .. import metrics as fm

        runs = list(runs)
        if not runs:
            raise ValueError("CompareRuns needs at least one run")
        items = [_as_item(r, i) for i, r in enumerate(runs)]
        if labels is not None and len(labels) != len(items):
            raise ValueError(f"{len(labels)} labels for {len(items)} runs")
        self.labels = list(labels) if labels is not None else [it[0] for it in items]
        if len(set(self.labels)) != len(self.labels):
            self.labels = [f"{i}: {lab}" for i, lab in enumerate(self.labels)]
        self.videos = [it[1] for it in items]
        self.lengths = [len(v) for v in self.videos]
        self.metrics = list(metrics)
        tables = []
        for label, item in zip(tqdm(self.labels, desc="metrics", leave=False), items):
            _, video, fps, saved = item
            if saved is not None and set(self.metrics) <= set(saved["metric"]):
                table = saved[saved["metric"].isin(self.metrics)].assign(run_id=label)
            else:
                table = fm.compute(video, metrics=self.metrics, run_id=label, fps=fps)
            tables.append(table)
        self.table = pd.concat(tables, ignore_index=True)

        last = max(self.lengths) - 1
        self.slider = w.IntSlider(value=0, min=0, max=last, description="frame", continuous_update=True)
        self.play = w.Play(value=0, min=0, max=last, interval=interval_ms, description="play")
        w.jslink((self.play, "value"), (self.slider, "value"))
        self.panels = {"videos": FigurePanel(), "curves": FigurePanel()}
        self._draw()
        self.slider.observe(lambda change: self.set_frame(change["new"]), names="value")
        self.widget = w.VBox([w.HBox([self.play, self.slider]), self.panels["videos"].output,
                              self.panels["curves"].output])

    @property
    def frame(self) -> int:
        return self.slider.value

    @property
    def figures(self) -> dict:
        return {k: p.figure for k, p in self.panels.items()}

    @property
    def figure(self):
        return self.panels["videos"].figure

    def _shown(self, k: int, frame: int) -> int:
        return min(frame, self.lengths[k] - 1)

    def _title(self, k: int, frame: int) -> str:
        if frame < self.lengths[k]:
            return f"{self.labels[k]}\nframe {frame}"
        return f"{self.labels[k]}\nended at frame {self.lengths[k] - 1}"

    def _draw(self) -> None:
        n = len(self.videos)
        fig, axes = plt.subplots(1, n, figsize=(2.8 * n, 2.6), squeeze=False)
        self._images = []
        for k, ax in enumerate(axes[0]):
            image = ax.imshow(plots.frame_image(self.videos[k], 0))
            ax.set_title(self._title(k, 0), fontsize=8)
            ax.set_axis_off()
            self._images.append(image)
        fig.tight_layout()
        self.panels["videos"].show(fig)
        labels = dict(zip(self.labels, self.labels))
        curves = plots.metric_curves(self.table, self.metrics, labels=labels, frame=0)
        self._markers = [line for ax in curves.axes for line in ax.lines if line.get_gid() == "frame_marker"]
        self.panels["curves"].show(curves)

    def set_frame(self, frame: int) -> None:
        """Show `frame` in every video (clipped per video) and move the curves' markers there."""
        frame = int(frame)
        if self.slider.value != frame:
            self.slider.value = frame  # observer calls back here
            return
        for k, image in enumerate(self._images):
            image.set_data(plots.frame_image(self.videos[k], self._shown(k, frame)))
            image.set_alpha(1.0 if frame < self.lengths[k] else 0.35)
            image.axes.set_title(self._title(k, frame), fontsize=8)
        for marker in self._markers:
            marker.set_xdata([frame, frame])
        self.panels["videos"].refresh()
        self.panels["curves"].refresh()
