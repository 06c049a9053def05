"""What every view shares: figure panels rendered to PNG into ipywidgets.Output, and input loading."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib.pyplot as plt

FIGURE_DPI = 90


class FigurePanel:
    """An ipywidgets.Output showing one matplotlib figure as a PNG.

    Figures are detached from pyplot as soon as they are shown (plt.close), so a notebook never
    accumulates open figures nor shows them twice; the Figure object stays usable for updates and
    `savefig`. `show(fig)` replaces the previous figure; `refresh()` re-renders after artist changes."""

    def __init__(self, dpi: int = FIGURE_DPI):
        import ipywidgets as w

        self.output = w.Output()
        self.figure = None
        self.dpi = dpi

    def show(self, fig) -> None:
        if self.figure is not None and self.figure is not fig:
            plt.close(self.figure)
        plt.close(fig)
        self.figure = fig
        self.refresh()

    def refresh(self) -> None:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=self.dpi)
        data = {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": repr(self.figure)}
        self.output.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)

    def show_html(self, html: str) -> None:
        if self.figure is not None:
            plt.close(self.figure)
        self.figure = None
        set_html(self.output, html)


def set_html(output, html: str) -> None:
    """Replace an Output's content with an HTML snippet (no IPython shell needed)."""
    output.outputs = ({"output_type": "display_data", "data": {"text/html": html, "text/plain": html},
                       "metadata": {}},)


class View:
    """Base of the views: `.widget` is the container; displaying the view displays it."""

    widget = None

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def read_video(path):
    """(T, H, W, 3) uint8 frames of a video file (imageio-ffmpeg)."""
    import imageio
    import numpy as np

    with imageio.get_reader(str(path)) as reader:
        return np.stack([frame for frame in reader])


def load_run_dir(path):
    """(trace or None, video or None, metrics table or None) from a results run folder
    (`runs/<run_id>/`, layout owned by fpkit.experiment.store) or a bare trace folder."""
    from ..experiment.store import RunFolder
    from ..trace import Trace

    path = Path(path)
    if (path / "trace.json").is_file():
        return Trace.load(path), None, None
    if not path.is_dir():
        raise FileNotFoundError(f"no run or trace folder at {path}")
    run = RunFolder(path)
    trace = Trace.load(run.trace) if (run.trace / "trace.json").is_file() else None
    video = read_video(run.video) if run.video.is_file() else None
    if trace is None and video is None:
        raise FileNotFoundError(f"{path} holds neither a trace nor a video")
    return trace, video, run.read_metrics()
