"""What every view shares: figure panels rendered to PNG into ipywidgets.Output, and input loading."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib.pyplot as plt

FIGURE_DPI = 90
EXPORT_FORMATS = ("png", "svg", "pdf")
EXPORT_DPI = 150


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


def export_figures(figures: dict, folder, fmt: str = "png", prefix: str = "") -> list[Path]:
    """Write each figure of {name: Figure} to folder/<prefix><name>.<fmt> (png, svg or pdf), each file
    written whole or not at all; returns the paths."""
    from ..atomic import atomic_write

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format must be one of {EXPORT_FORMATS}, got {fmt!r}")
    if not figures:
        raise ValueError("no figure to export (the view shows none)")
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = folder / f"{prefix}{name}.{fmt}"
        atomic_write(path, lambda p, fig=fig: fig.savefig(p, format=fmt, dpi=EXPORT_DPI))
        paths.append(path)
    return paths


class View:
    """Base of the views: `.widget` is the container; displaying the view displays it; `.figures`
    the figures shown ({name: Figure}); `export()` / the export bar writes them as PNG, SVG or PDF."""

    widget = None
    figures: dict = {}

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def export(self, folder=".", fmt: str = "png", prefix: str | None = None) -> list[Path]:
        """Write every figure the view shows to `folder` as <prefix><name>.<fmt>."""
        prefix = f"{type(self).__name__.lower()}_" if prefix is None else prefix
        return export_figures(self.figures, folder, fmt, prefix)

    def export_bar(self, folder: str = "figures"):
        """Controls that export the view's figures: a folder, a format and a button (status beside)."""
        import html

        import ipywidgets as w

        self.export_folder = w.Text(value=str(folder), description="export to")
        self.export_format = w.Dropdown(options=EXPORT_FORMATS, value="png", description="format",
                                        layout=w.Layout(width="160px"))
        self.export_button = w.Button(description="export figures", icon="download")
        self.export_status = w.HTML()

        def click(_):
            try:
                paths = self.export(self.export_folder.value, self.export_format.value)
            except (ValueError, OSError) as err:
                self.export_status.value = f"<span style='color:red'>{html.escape(str(err))}</span>"
                return
            self.export_status.value = "wrote " + ", ".join(html.escape(p.name) for p in paths)

        self.export_button.on_click(click)
        return w.HBox([self.export_folder, self.export_format, self.export_button, self.export_status])


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
