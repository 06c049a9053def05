"""Drift metrics: per-frame metrics on decoded video, latent metrics from a Trace, and drift
summaries (start-end contrast, windows, section curves) derived from their long tables.

    table = fpkit.metrics.compute(run.video, run_id="r0", fps=run.fps)   # run_id, frame, metric, value, reason
    fpkit.metrics.start_end_contrast(table)                             # the paper's |M(start) - M(end)|
    fpkit.metrics.section_curves(table, run.trace, order="generation")
    fpkit.metrics.latent_metrics(run.trace, run_id="r0", by="section")
    fpkit.metrics.list_metrics()                                        # names, direction, range, needs
    fpkit.metrics.paired_difference(drift_a, drift_b)                   # per-seed pairs: mean, 95% interval
"""

# Importing registers the metrics, in this order (list_metrics() shows it).
from . import video  # noqa: F401  isort: skip
from . import perceptual  # noqa: F401  isort: skip
from . import latent  # noqa: F401  isort: skip
from .drift import end_frames, section_curves, start_end_contrast, summary, window_frames, windowed
from .latent import latent_metrics
from .perceptual import lpips_unavailable, lpips_weights_path
from .stats import Interval, bootstrap_ci, paired_difference, paired_table, summarize as summarize_ci
from .registry import REGISTRY, Metric, MetricUnavailable, get_metric, headline_metrics, list_metrics, register
from .video import PSNR_CAP_DB, compute

__all__ = [
    "Interval",
    "PSNR_CAP_DB",
    "REGISTRY",
    "Metric",
    "MetricUnavailable",
    "bootstrap_ci",
    "compute",
    "end_frames",
    "get_metric",
    "headline_metrics",
    "latent_metrics",
    "list_metrics",
    "lpips_unavailable",
    "lpips_weights_path",
    "paired_difference",
    "paired_table",
    "register",
    "section_curves",
    "start_end_contrast",
    "summarize_ci",
    "summary",
    "window_frames",
    "windowed",
]
