"""CompareRuns: several videos side by side on one frame scrubber, per-frame metric curves below."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from .. import plots
from ._base import FigurePanel, View, load_run_dir

DEFAULT_METRICS = ("color_hist_distance", "ssim_first", "flicker")  # headline metrics (fpkit.metrics.headline_metrics)
MAX_SYNCED = 6  # runs in one synchronized player
MODES = ("scrub", "contact sheet")


def tiled_frames(videos, labels, height: int = 128):
    """(T, H', W', 3) uint8: the videos side by side in one frame sequence (each scaled to `height`,
    a label strip on top; a video that has ended holds its last frame, dimmed), so one player shows
    them in lockstep."""
    import numpy as np
    from PIL import Image, ImageDraw

    length = max(len(v) for v in videos)
    strips = []
    for video, label in zip(videos, labels):
        h, w = video.shape[-2:]
        width = max(2, int(round(w * height / h)) // 2 * 2)
        frames = []
        for t in range(length):
            img = plots.frame_image(video, min(t, len(video) - 1))
            img = (np.clip(img, 0, 1) * 255).astype(np.uint8)
            if t >= len(video):
                img = (img * 0.35 + 255 * 0.65).astype(np.uint8)
            tile = Image.new("RGB", (width, height + 14), "white")
            tile.paste(Image.fromarray(img).resize((width, height), Image.NEAREST), (0, 14))
            ImageDraw.Draw(tile).text((2, 1), str(label)[: max(4, width // 6)], fill=(0, 0, 0))
            frames.append(np.asarray(tile))
        strips.append(np.stack(frames))
    tiled = np.concatenate(strips, axis=2)
    pad_h, pad_w = -tiled.shape[1] % 16, -tiled.shape[2] % 16  # H.264 macro blocks: no rescaling
    return np.pad(tiled, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), constant_values=255)


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
    """CompareRuns(runs, labels=None, metrics=("color_hist_distance", "ssim_first", "flicker")).

    runs: Runs, results run folders (runs/<run_id>/) or (T, 3, H, W) videos. Videos of different
    lengths share one scrubber; a video that has ended shows its last frame, faded.
    Metrics are computed once (fpkit.metrics.compute) unless a run folder already holds them.
    `.figures`: {"videos", "curves"} (and "contact" once shown), written as PNG, SVG or PDF by the
    export bar or `export(folder, fmt)`; `.table` the long per-frame metric table."""

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
        self.fps = items[0][2]
        self.mode = w.ToggleButtons(options=MODES, value="scrub", description="view")
        self.panels = {"videos": FigurePanel(), "curves": FigurePanel(), "contact": FigurePanel()}
        self._draw()
        self.slider.observe(lambda change: self.set_frame(change["new"]), names="value")
        self.mode.observe(lambda change: self._show_mode(change["new"]), names="value")
        self.synced = self.player() if len(self.videos) <= MAX_SYNCED else \
            w.HTML(f"<i>synchronized playback shows up to {MAX_SYNCED} runs; pass fewer to play them together</i>")
        self.scrub_box = w.VBox([w.HBox([self.play, self.slider]), self.panels["videos"].output])
        self.widget = w.VBox([self.mode, self.scrub_box, self.panels["contact"].output,
                              w.HTML("<b>synchronized playback</b> (one player, every run in lockstep)"),
                              self.synced, self.panels["curves"].output, self.export_bar()])
        self._show_mode("scrub")

    @property
    def frame(self) -> int:
        return self.slider.value

    @property
    def figures(self) -> dict:
        return {k: p.figure for k, p in self.panels.items() if p.figure is not None}

    def player(self, height: int = 128):
        """An ipywidgets.Video of every run side by side in one mp4 (tiled_frames): the browser plays
        it at the runs' fps with no redraw from Python, so the runs cannot fall out of step."""
        import tempfile

        import ipywidgets as w
        from diffusers.utils import export_to_video

        frames = tiled_frames(self.videos, self.labels, height)
        with tempfile.TemporaryDirectory() as tmp:
            path = export_to_video(list(frames.astype("float32") / 255.0), f"{tmp}/tiled.mp4", fps=self.fps)
            data = open(path, "rb").read()
        self.synced_frames = frames.shape
        return w.Video(value=data, format="mp4", width=min(frames.shape[2], 960), autoplay=False, loop=True,
                       controls=True)

    def contact_sheet(self, count: int = 10, real=None):
        """The same frame indices of every run in rows (`real`: a (T, 3, H, W) reference video shown
        first, e.g. the toy world's own clip)."""
        videos = dict(zip(self.labels, self.videos))
        if real is not None:
            videos = {"real": real, **videos}
        fig = plots.contact_sheet(videos, count=count)
        plt.close(fig)  # detached from pyplot, as every view's figure (still drawable and savable)
        return fig

    def _show_mode(self, mode: str) -> None:
        if mode == "contact sheet":
            if self.panels["contact"].figure is None:
                self.panels["contact"].show(self.contact_sheet())
            self.scrub_box.layout.display = "none"
            self.panels["contact"].output.layout.display = None
        else:
            self.scrub_box.layout.display = None
            self.panels["contact"].output.layout.display = "none"

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
