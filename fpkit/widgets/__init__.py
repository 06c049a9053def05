"""ipywidgets views over Traces and result tables: thin controls around fpkit.plots figures.

    fpkit.widgets.TraceExplorer(run)                  # section by section: frames, context layout, schedule, time
    fpkit.widgets.CompareRuns([run_a, run_b])         # videos side by side on one scrubber + metric curves
    fpkit.widgets.SweepDashboard("results/length_sweep")   # a sweep's summary columns against its config
"""

from .compare import CompareRuns
from .sweep import SweepDashboard
from .trace_explorer import TraceExplorer

__all__ = ["CompareRuns", "SweepDashboard", "TraceExplorer"]
