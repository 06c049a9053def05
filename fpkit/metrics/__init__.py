"""Drift metrics: per-frame metrics on decoded video, latent metrics from a Trace, and drift
summaries (start-end contrast, windows, section curves) derived from their long tables.

    table = fpkit.metrics.compute(run.video, run_id="r0", fps=run.fps)   # run_id, frame, metric, value, reason
    fpkit.metrics.start_end_contrast(table)                             # the paper's |M(start) - M(end)|
    fpkit.metrics.section_curves(table, run.trace, order="generation")
    fpkit.metrics.latent_metrics(run.trace, run_id="r0", by="section")
    fpkit.metrics.list_metrics()                                        # names, direction, range, needs
"""

# Importing registers the metrics, in this order (list_metrics() shows it).
from . import video  # noqa: F401  isort: skip
from . import perceptual  # noqa: F401  isort: skip
from . import latent  # noqa: F401  isort: skip
from .drift import end_frames, section_curves, start_end_contrast, summary, window_frames, windowed
from .latent import latent_metrics
from .perceptual import lpips_unavailable, lpips_weights_path
from .registry import REGISTRY, Metric, MetricUnavailable, get_metric, list_metrics, register
from .video import PSNR_CAP_DB, compute

__all__ = [
    "PSNR_CAP_DB",
    "REGISTRY",
    "Metric",
    "MetricUnavailable",
    "compute",
    "end_frames",
    "get_metric",
    "latent_metrics",
    "list_metrics",
    "lpips_unavailable",
    "lpips_weights_path",
    "register",
    "section_curves",
    "start_end_contrast",
    "summary",
    "window_frames",
    "windowed",
]
