"""Experiments: TOML files -> validated configs -> a grid of runs -> the run store.

    config.py   frozen, self-validating configs; load_experiment / parse_experiment
    inputs.py   image specs checked, loaded and content-hashed
    models.py   the model registry: one entry per kind of model name
    grid.py     axis rules and checks, expansion into RunSpecs, fingerprints -> run ids
    store.py    the results folder's layout, claims, atomic commits, the table
    runner.py   Runner (cached encodings, accelerate sharding), run_experiment
"""

import inspect

from .config import (DEFAULT_MAX_RUNS, Experiment, ExperimentError, InputsConfig, MetricsConfig, ModelConfig,
                     RecordConfig, load_experiment, parse_experiment, parse_only)
from .grid import AXIS_KEYS, RESULT_FORMAT, RUN_KEYS, SAMPLE_KEYS, Fingerprints, RunSpec, fingerprint
from .inputs import BUILTIN_IMAGES, builtin_image, load_image
from .models import Geometry, load_model, model_defaults, model_geometry, sample_kwargs
from .runner import Runner, reuse_or_run, run_experiment
from .store import RunFolder, RunStore, run_is_done, table_from_rows

RunConfig = RunSpec  # the first version's name


def finished_runs(out_dir) -> list:
    """Folders of every finished run in a results folder."""
    store = RunStore(out_dir)
    return [store.folder(i).path for i in store.done_ids()]


def sample_signature_keys() -> set[str]:
    """Keywords fpkit.sample takes (used to keep SAMPLE_KEYS honest in tests)."""
    from ..sampler import sample

    return set(inspect.signature(sample).parameters)


__all__ = [
    "AXIS_KEYS", "BUILTIN_IMAGES", "DEFAULT_MAX_RUNS", "Experiment", "ExperimentError", "Fingerprints", "Geometry",
    "InputsConfig", "MetricsConfig", "ModelConfig", "RESULT_FORMAT", "RUN_KEYS", "RecordConfig", "RunConfig",
    "RunFolder", "RunSpec", "RunStore", "Runner", "SAMPLE_KEYS", "builtin_image", "fingerprint", "finished_runs",
    "load_experiment", "load_image", "load_model", "model_defaults", "model_geometry", "parse_experiment",
    "parse_only", "reuse_or_run", "run_experiment", "run_is_done", "sample_kwargs", "table_from_rows",
]
