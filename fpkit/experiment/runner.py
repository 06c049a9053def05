"""The runner: a validated experiment's grid through one pipeline per model (one held at a time, runs
grouped by model, encodings cached), into the run store; shards the grid across `accelerate launch`
processes."""

from __future__ import annotations

import gc
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..atomic import atomic_write
from ..pipelines import execution_device
from .config import Experiment, ExperimentError, load_experiment
from .grid import RESULT_FORMAT, Fingerprints, RunSpec, keyframe_specs, only_problems
from .inputs import load_image
from .models import load_model, model_kind
from .store import RunFolder, RunStore


@dataclass
class _Encodings:
    """Per-sweep caches: each distinct prompt and image is encoded once."""

    prompts: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)
    text_encoder_calls: int = 0


@dataclass
class Progress:
    """Counts of the current sweep, readable after an interrupt."""

    planned: int = 0
    done_before: int = 0
    built_here: int = 0
    out_dir: str = ""

    @property
    def finished(self) -> int:
        return self.done_before + self.built_here


class Runner:
    """Runs an experiment's grid: one pipeline per model, cached encodings, atomic run folders."""

    def __init__(self, exp: Experiment, out_dir=None, pipe=None, progress: bool = True, on_result=None,
                 log: Callable[[str], None] | None = None, keep_pipelines: bool = False):
        """on_result(run_spec, run) -> dict | None: extra columns for the run's row, computed while the
        decoded video is still in memory (e.g. the toy's likeness to its world). `log` gets the plan
        line (default: print when `progress`).

        keep_pipelines: hold every model's pipeline until the runner goes, instead of one at a time.
        By default loading a model first releases the one held, so the two 13B pipelines of a
        by_sampling_type sweep never sit in memory together; runs are grouped by model, so each
        loads once unless runs another process held are revisited. Worth it only for small models
        whose loads would repeat (toy or tiny pipelines, `load_pipe` called across models)."""
        self.exp = exp
        self.out_dir = Path(out_dir) if out_dir is not None else Path("results") / exp.name
        self.store = RunStore(self.out_dir)
        self.given_pipe = pipe  # used for every model (tests, notebooks that already hold one)
        self.pipes: dict[str, Any] = {}
        self.keep_pipelines = keep_pipelines
        self.progress = progress
        self.on_result = on_result
        self.log = log if log is not None else (print if progress else (lambda _: None))
        self.cache = _Encodings()
        self.fingerprints = Fingerprints(exp)
        self.state = Progress(out_dir=str(self.out_dir))

    # -- model and encodings ---------------------------------------------------------------
    def load_pipe(self, model: str | None = None, device=None):
        """The pipeline for `model` (default: the experiment's); another model's is released first
        unless `keep_pipelines`. `device` None: load_pipeline's default (the accelerator for released
        checkpoints and saved folders when there is one)."""
        model = model or self.exp.model.name
        if self.given_pipe is not None:
            return self.given_pipe
        if model not in self.pipes:
            if not self.keep_pipelines:
                self.release_pipes()
            cfg = self.exp.model
            pipe = load_model(model, cfg.dtype, cfg.offload, cfg.device or device, cfg.seed)
            pipe.set_progress_bar_config(disable=True)
            self.pipes[model] = pipe
        return self.pipes[model]

    def release_pipes(self) -> None:
        """Drop the pipelines held and return their memory (to the allocator, and CUDA's cache to the
        device) before another loads. Cached encodings stay: they are small and tied to no pipeline."""
        if not self.pipes:
            return
        self.pipes.clear()
        gc.collect()  # modules and hooks hold reference cycles: free the weights now, not later
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def encode_prompt(self, model: str, text: str, max_sequence_length: int = 256):
        key = (model, text, max_sequence_length)
        if key not in self.cache.prompts:
            pipe = self.load_pipe(model)
            self.cache.text_encoder_calls += 1
            embeds, pooled, mask = pipe.encode_prompt(prompt=text, device=execution_device(pipe),
                                                      max_sequence_length=max_sequence_length)
            self.cache.prompts[key] = dict(embeds=embeds, pooled=pooled, mask=mask)
        return self.cache.prompts[key]

    def encode_image(self, model: str, spec: str, height: int, width: int):
        """(PIL image, SigLIP embedding, VAE latent): the latent is the posterior mean, so a run is
        reproducible from its seed alone (`fpkit.sample(..., image_latents=...)` gives the same video)."""
        import torch

        key = (model, spec, height, width)
        if key not in self.cache.images:
            pipe = self.load_pipe(model)
            img = load_image(spec, Path(self.exp.base_dir), height, width)
            pixels = pipe.video_processor.preprocess(img, height, width)
            with torch.no_grad():
                embeds = pipe.encode_image(pixels, device=execution_device(pipe))
                x = pixels.unsqueeze(2).to(device=execution_device(pipe), dtype=pipe.vae.dtype)
                latent = pipe.vae.encode(x).latent_dist.mode() * pipe.vae.config.scaling_factor
            self.cache.images[key] = (img, embeds, latent.float())
        return self.cache.images[key]

    # -- one run ---------------------------------------------------------------------------
    def run_dir(self, run: RunSpec) -> Path:
        return self.store.folder(run.run_id).path

    def execute(self, run: RunSpec, process_index: int = 0) -> dict:
        """Sample one run and commit its folder (the caller holds the run's claim)."""
        import torch

        from ..sampler import sample

        inputs = self.exp.inputs
        kw = run.kwargs
        height, width = kw.get("height", 720), kw.get("width", 1280)
        img, image_embeds, image_latents = self.encode_image(run.model, inputs.image(run.image).spec, height, width)
        msl = kw.get("max_sequence_length", 256)
        pos = self.encode_prompt(run.model, inputs.prompt_text(run.prompt), max_sequence_length=msl)
        extra = {}
        if kw.get("negative_prompt") is not None:
            neg = self.encode_prompt(run.model, kw["negative_prompt"], max_sequence_length=msl)
            extra = dict(negative_prompt_embeds=neg["embeds"], negative_pooled_prompt_embeds=neg["pooled"],
                         negative_prompt_attention_mask=neg["mask"])
        if run.last_image is not None:
            _, _, last_latents = self.encode_image(run.model, inputs.image(run.last_image, last=True).spec,
                                                   height, width)
            extra["last_image_latents"] = last_latents
        if run.keyframes != "{}":
            specs = keyframe_specs(run.keyframes, inputs.image(run.image).spec)
            extra["keyframes"] = {f: load_image(spec, Path(self.exp.base_dir), height, width)
                                  for f, spec in specs.items()}
        sample_kw = {k: v for k, v in kw.items() if k != "negative_prompt"}
        if "sigmas" in sample_kw:
            sample_kw["sigmas"] = list(sample_kw["sigmas"])
        t0 = time.perf_counter()
        result = sample(self.load_pipe(run.model), image=img, image_latents=image_latents, image_embeds=image_embeds,
                        prompt_embeds=pos["embeds"], pooled_prompt_embeds=pos["pooled"],
                        prompt_attention_mask=pos["mask"], generator=torch.Generator().manual_seed(run.seed),
                        record=self.exp.record.level, fps=self.exp.fps, **extra, **sample_kw)
        seconds = time.perf_counter() - t0

        with self.store.building(run.run_id) as tmp:
            folder = RunFolder(tmp)
            config = {"run_id": run.run_id, **run.to_dict(), "fingerprint": self.fingerprints(run),
                      "image_latents": "VAE posterior mean"}
            atomic_write(folder.config, _dumps(config, indent=1))
            result.trace.save(folder.trace)
            if self.exp.record.video:
                result.save_video(folder.video, fps=self.exp.fps)
            row = {**run.to_dict(), "run_id": run.run_id, "frames": result.num_frames,
                   "sections": result.trace.plan.num_sections, "layout": result.trace.plan.layout,
                   "sample_seconds": seconds}
            row.update(self.metrics(result, run, folder.metrics))
            row.update(model_kind(run.model).result_columns(self.exp.inputs.image(run.image).spec, result.video))
            if self.on_result is not None:
                row.update(self.on_result(run, result) or {})
            atomic_write(folder.row, _dumps(row))
            self.store.commit(tmp, run.run_id, process_index=process_index, pid=os.getpid())
        return row

    def metrics(self, result, run: RunSpec, path: Path) -> dict:
        """Per-frame metrics to metrics.parquet; summary values for the table row."""
        from .. import metrics as fm

        table = fm.compute(result.video, metrics=self.exp.metrics.names, run_id=run.run_id, fps=self.exp.fps)
        atomic_write(path, lambda p: table.to_parquet(p, index=False))
        summary = fm.summary(table, run_id=run.run_id, ratio=self.exp.metrics.ratio)
        row = summary.iloc[0].to_dict() if len(summary) else {}
        # the config's num_frames is what was asked; the decoded length is the row's "frames"
        return {k: v for k, v in row.items() if k not in ("run_id", "num_frames")}

    # -- the sweep -------------------------------------------------------------------------
    def check_size(self, only: dict | None = None, yes: bool = False) -> int:
        """The grid's size; ExperimentError when it exceeds max_runs and `yes` is not given."""
        size = self.exp.grid_size(only)
        if size > self.exp.max_runs and not yes:
            raise ExperimentError(self.exp.name, [
                f"the grid holds {size:,} runs, more than max_runs = {self.exp.max_runs:,}: set "
                f"`max_runs = {size}` in the file or pass --yes (run_experiment(..., yes=True))"])
        return size

    def run(self, only: dict | None = None, yes: bool = False):
        """Build every unfinished run of this process's shard, updating table.parquet (this grid's
        finished runs) after each; returns the table."""
        from tqdm.auto import tqdm

        self.check_size(only, yes)
        runs = self.exp.runs(only)
        ids = [r.run_id for r in runs]
        done = set(self.store.done_ids(ids))
        self.state = Progress(planned=len(runs), done_before=len(done), out_dir=str(self.out_dir))
        proc = _process_state()
        if proc.is_main_process:
            self.log(f"{self.exp.name}: {len(runs)} runs planned, {len(done)} already done, "
                     f"{len(runs) - len(done)} to do -> {self.out_dir}")
        self.store.write_experiment({**self.exp.to_dict(), "format": RESULT_FORMAT, "run_ids": ids})
        if len(done) == len(runs):
            return self.store.update_table(ids)
        self.store.clean()
        shard = runs[proc.process_index::proc.num_processes]
        todo = [r for r in shard if r.run_id not in done]
        # grouped by model, so each model loads once; within a model the longest runs first, so that
        # processes sharing the folder end together on short runs (the demo's 12-section runs take
        # 4x its 3-section ones); the order of building never reaches a run's id or result
        todo.sort(key=lambda r: (self.exp.model.names.index(r.model), -_cost(r)))
        device = str(proc.device) if proc.num_processes > 1 else None
        waiting = []
        for wait, queue in ((False, todo), (True, waiting)):  # runs another process holds come last
            if wait:  # start with the model still held
                queue.sort(key=lambda r: r.model not in self.pipes)
            for run in tqdm(queue, desc=f"{self.exp.name} [{proc.process_index}]",
                            disable=not self.progress or not queue):
                with self.store.claim(run.run_id, wait=wait) as mine:
                    if not mine:
                        waiting.append(run)
                        continue
                    if self.store.folder(run.run_id).is_done():  # another process built it meanwhile
                        continue
                    self.load_pipe(run.model, device)
                    self.execute(run, proc.process_index)
                    self.state.built_here += 1
                self.store.update_table(ids)
        proc.wait_for_everyone()
        table = self.store.update_table(ids)
        self.state.done_before = len(table) - self.state.built_here
        return table


def _cost(run) -> int:
    """Sampling work of a run, relative: frames x denoising steps (0 where the grid leaves them to the
    pipeline's defaults; the config has already checked both are ints)."""
    kw = dict(run.sample)
    return (kw.get("num_frames") or 0) * (kw.get("num_inference_steps") or 0)


def _json_scalar(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _dumps(data: dict, indent: int | None = None) -> str:
    import json

    return json.dumps(data, default=_json_scalar, indent=indent)


class _SingleProcess:
    process_index, num_processes, is_main_process, device = 0, 1, True, None

    def wait_for_everyone(self):
        pass


def _process_state():
    """accelerate's PartialState under `accelerate launch --multi_gpu --num_processes N` (on CPUs
    too: gloo), else a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch
        from accelerate import PartialState

        return PartialState(cpu=not torch.cuda.is_available())
    return _SingleProcess()


def run_experiment(path_or_exp, out_dir=None, only: dict | None = None, pipe=None, progress: bool = True,
                   set_values: dict | None = None, on_result=None, yes: bool = False, keep_pipelines: bool = False):
    """Load (if a path), validate and run an experiment; returns the results table (this grid's
    finished runs). `only` filters the grid; `set_values` replace fixed values or axes (lists)
    first; `yes` allows a grid larger than the file's max_runs; `keep_pipelines` holds every
    model's pipeline instead of one at a time (see Runner)."""
    if isinstance(path_or_exp, Experiment):
        exp = path_or_exp
        if problems := only_problems(exp, only):
            raise ExperimentError(exp.name, problems)
    else:
        exp = load_experiment(path_or_exp, overrides=only, set_values=set_values)
    return Runner(exp, out_dir, pipe=pipe, progress=progress, on_result=on_result,
                  keep_pipelines=keep_pipelines).run(only, yes=yes)


def reuse_or_run(path_or_exp, committed, out_dir, only: dict | None = None, set_values: dict | None = None,
                 **kwargs):
    """(table, results folder, reused): the runs of an experiment from `committed` when that folder's
    table holds every one of them (run ids fingerprint the content, models' weights included, so a
    changed organism or setting never reuses stale results), else built into `out_dir` (so the
    committed folder is never rewritten). Notebooks use it to show committed results in seconds."""
    if isinstance(path_or_exp, Experiment):
        exp = path_or_exp
    else:
        exp = load_experiment(path_or_exp, overrides=only, set_values=set_values)
    ids = [r.run_id for r in exp.runs(only)]
    store = RunStore(committed)
    if store.table_path.is_file():
        table = store.read_table()
        if set(ids) <= set(table["run_id"]):
            order = {run_id: k for k, run_id in enumerate(ids)}
            table = table[table["run_id"].isin(order)].sort_values("run_id", key=lambda c: c.map(order))
            return table.reset_index(drop=True), Path(committed), True
    table = run_experiment(exp, out_dir=out_dir, only=only, **kwargs)
    return table, Path(out_dir), False
