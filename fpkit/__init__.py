"""fpkit: instrumented FramePack sampling, traces and drift metrics on top of diffusers.

    run = fpkit.sample(pipe, image=..., prompt=..., sampling_type="vanilla")
    run.video            # (T, 3, H, W) float in [0, 1], same as pipe(..., output_type="pt").frames[0]
    run.trace.to_frame() # what every section saw
"""

from .experiment import load_experiment, run_experiment
from .pipelines import CHECKPOINTS, load_pipeline, tiny_pipeline
from . import methods, metrics
from .planning import HistorySpec, Plan, SectionPlan, Slot, plan
from .sampler import Run, sample
from .schedule import SectionSchedule
from .trace import Trace, TraceRecorder

__version__ = "0.1.0"

__all__ = [
    "CHECKPOINTS",
    "HistorySpec",
    "Plan",
    "Run",
    "SectionPlan",
    "SectionSchedule",
    "Slot",
    "Trace",
    "TraceRecorder",
    "load_experiment",
    "load_pipeline",
    "metrics",
    "plan",
    "run_experiment",
    "sample",
    "tiny_pipeline",
]
