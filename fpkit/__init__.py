"""fpkit: instrumented FramePack sampling, traces and drift metrics on top of diffusers.

    run = fpkit.sample(pipe, image=..., prompt=..., sampling_type="vanilla")
    run.video            # (T, 3, H, W) float in [0, 1], same as pipe(..., output_type="pt").frames[0]
    run.trace.to_frame() # what every section saw
"""

import importlib

__version__ = "0.1.0"

# name -> the submodule that defines it. Loaded on first use (PEP 562), so `import fpkit.cli` or
# `fpkit ls` do not pay for torch + diffusers (~5 s on a 2-core CPU) before they need them, and
# `fpkit demo` can start its helper process before the main process imports them.
_EXPORTS = {
    "load_experiment": "experiment", "run_experiment": "experiment",
    "CHECKPOINTS": "pipelines", "load_pipeline": "pipelines", "tiny_pipeline": "pipelines",
    "HistorySpec": "planning", "Plan": "planning", "SectionPlan": "planning", "Slot": "planning", "plan": "planning",
    "Run": "sampler", "sample": "sampler",
    "SectionSchedule": "schedule",
    "Trace": "trace", "TraceRecorder": "trace",
}
_SUBMODULES = ("methods", "metrics")

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted({*globals(), *__all__})
