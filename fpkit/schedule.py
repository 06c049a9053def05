"""Sigma schedules and solvers: diffusers' dynamic-mu rule (capped at ln 7), a fixed flow shift, or
explicit sigmas, executed by diffusers' own schedulers. What a section actually used is recorded as a
SectionSchedule."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

# diffusers HunyuanVideoFramepackPipeline caps the dynamic shift at exp(mu) = 7.
EXP_MAX = 7.0


def calculate_mu(image_seq_len: float, base_seq_len: int = 256, max_seq_len: int = 4096,
                 base_shift: float = 0.5, max_shift: float = 1.15) -> float:
    """Flux/diffusers rule: mu linear in token count through (256, 0.5) and (4096, 1.15); diffusers'
    own `calculate_shift`, the function the Framepack pipeline calls."""
    from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_framepack import calculate_shift

    return calculate_shift(image_seq_len, base_seq_len, max_seq_len, base_shift, max_shift)


def dynamic_mu(noisy_tokens: float, scheduler_config, exp_max: float = EXP_MAX) -> float:
    """The pipeline's mu for a window of `noisy_tokens` tokens, capped at ln(exp_max)."""
    mu = calculate_mu(
        noisy_tokens,
        scheduler_config.get("base_image_seq_len", 256),
        scheduler_config.get("max_image_seq_len", 4096),
        scheduler_config.get("base_shift", 0.5),
        scheduler_config.get("max_shift", 1.15),
    )
    return min(mu, math.log(exp_max))


def shift_sigmas(sigmas, shift: float):
    """sigma' = s * sigma / (1 + (s - 1) * sigma) (flow-matching time shift)."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    return shift * sigmas / (1 + (shift - 1) * sigmas)


def base_sigmas(num_inference_steps: int) -> np.ndarray:
    """diffusers' unshifted grid: linspace(1, 0, steps + 1)[:-1]."""
    return np.linspace(1.0, 0.0, num_inference_steps + 1)[:-1]


@dataclass(frozen=True)
class SectionSchedule:
    """The schedule a section really ran: solver, rule, shift and the scheduler's own grids."""

    solver: str
    rule: str  # "dynamic" | "fixed"
    shift: float  # effective exp(mu) or fixed shift
    mu: float | None
    sigmas: tuple[float, ...]  # scheduler.sigmas, terminal value included
    timesteps: tuple[float, ...]

    @property
    def num_steps(self) -> int:
        return len(self.timesteps)

    def to_dict(self) -> dict:
        return {**asdict(self), "sigmas": list(self.sigmas), "timesteps": list(self.timesteps)}

    @classmethod
    def from_dict(cls, d: dict) -> "SectionSchedule":
        return cls(**{**d, "sigmas": tuple(d["sigmas"]), "timesteps": tuple(d["timesteps"])})


# ---------------------------------------------------------------------------------------------
# Solvers: one signature (pipeline scheduler, rule, shift, steps) -> a diffusers scheduler.


def _with_shift(config, rule: str, shift: float | None) -> dict:
    config = dict(config)
    config["use_dynamic_shifting"] = rule == "dynamic"
    if shift is not None:
        config["shift" if "shift" in config or "flow_shift" not in config else "flow_shift"] = float(shift)
    return config


def _pipeline_scheduler(base, rule: str, shift: float | None, steps: int):
    """The pipeline's own scheduler class and config (a copy; the user's object is never mutated)."""
    return type(base).from_config(_with_shift(base.config, rule, shift))


def _euler(base, rule: str, shift: float | None, steps: int):
    from diffusers import FlowMatchEulerDiscreteScheduler

    config = dict(base.config) if isinstance(base, FlowMatchEulerDiscreteScheduler) else {}
    return FlowMatchEulerDiscreteScheduler.from_config(_with_shift(config, rule, shift))


def _flow_unipc_class():
    from diffusers import UniPCMultistepScheduler
    from diffusers.schedulers.scheduling_utils import SchedulerOutput

    class FlowUniPCMultistepScheduler(UniPCMultistepScheduler):
        """diffusers' flow-prediction UniPC, except the final step to sigma 0 returns the x0
        prediction x - sigma * v, as the reference demo's loop does. (diffusers 0.42's bh1 update
        takes log(0) there: B_h = -inf times a zero residual gives NaN.)"""

        def step(self, model_output, timestep, sample, return_dict=True, **kwargs):
            index = self.step_index if self.step_index is not None else self.index_for_timestep(timestep)
            if float(self.sigmas[index + 1]) == 0.0:  # the last step: nothing follows, the index may stay
                x0 = sample - self.sigmas[index].to(sample) * model_output.to(sample)
                return SchedulerOutput(prev_sample=x0) if return_dict else (x0,)
            return super().step(model_output, timestep, sample, return_dict=return_dict, **kwargs)

    return FlowUniPCMultistepScheduler


def _unipc(base, rule: str, shift: float | None, steps: int):
    """Reference demo's solver: flow-prediction UniPC (bh1, order min(3, steps - 2)). The dynamic
    rule is applied by `setup` as the fixed flow shift exp(mu) (the same map)."""
    return _flow_unipc_class()(
        prediction_type="flow_prediction",
        use_flow_sigmas=True,
        flow_shift=float(shift) if shift is not None else 1.0,
        solver_type="bh1",
        solver_order=max(1, min(3, steps - 2)),
        lower_order_final=True,
        final_sigmas_type="zero",
        num_train_timesteps=1000,
    )


SOLVERS: dict[str, Callable] = {"pipeline": _pipeline_scheduler, "euler": _euler, "unipc": _unipc}


def check_schedule_args(solver: str | None, flow_shift, sigmas, num_inference_steps) -> None:
    """Validate schedule arguments (raises ValueError naming the bad value)."""
    if solver is not None and solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; known: {sorted(SOLVERS)}")
    if flow_shift is not None and flow_shift != "dynamic":
        if isinstance(flow_shift, bool) or not isinstance(flow_shift, (int, float)) or not flow_shift > 0:
            raise ValueError(f"flow_shift must be a number > 0, 'dynamic' or None, got {flow_shift!r}")
    if not isinstance(num_inference_steps, int) or isinstance(num_inference_steps, bool) or num_inference_steps < 1:
        raise ValueError(f"num_inference_steps must be an int >= 1, got {num_inference_steps!r}")
    if sigmas is not None:
        try:
            values = np.asarray(sigmas, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"sigmas must be a list of numbers, got {sigmas!r}") from None
        # diffusers takes any grid; a final 0 (as in [1.0, 0.5, 0.0]) is a no-op last step there
        if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)) \
                or not np.all((values >= 0) & (values <= 1)) or np.any(np.diff(values) >= 0):
            raise ValueError(f"sigmas must be a 1-d list of strictly decreasing values in [0, 1], got {sigmas!r}")


class SchedulePlanner:
    """Sets up a scheduler for each section the way the pipeline does, and reports what it ran.

    solver None keeps the pipeline's scheduler class; flow_shift None keeps the pipeline's rule
    (dynamic mu if its scheduler shifts dynamically, else its fixed shift); "dynamic" forces the mu
    rule; a number forces that fixed shift. `sigmas` keep diffusers' meaning: the grid *before* the
    shift (pass flow_shift=1 to run them as given).
    """

    def __init__(self, base_scheduler, solver: str | None, flow_shift, sigmas, num_inference_steps: int,
                 exp_max: float = EXP_MAX):
        check_schedule_args(solver, flow_shift, sigmas, num_inference_steps)
        self.base = base_scheduler
        self.solver = solver or "pipeline"
        self.sigmas = sigmas
        self.num_inference_steps = num_inference_steps
        self.exp_max = exp_max
        cfg = base_scheduler.config
        if flow_shift == "dynamic":
            self.rule, self.shift = "dynamic", None
        elif flow_shift is not None:
            self.rule, self.shift = "fixed", float(flow_shift)
        elif cfg.get("use_dynamic_shifting", False) or ("shift" not in cfg and "flow_shift" not in cfg):
            self.rule, self.shift = "dynamic", None
        else:
            self.rule, self.shift = "fixed", float(cfg.get("shift", cfg.get("flow_shift")))
        self._scheduler = None

    @property
    def num_steps(self) -> int:
        """Denoising steps per section: one per given sigma, else num_inference_steps (as diffusers)."""
        return len(self.sigmas) if self.sigmas is not None else self.num_inference_steps

    def setup(self, noisy_tokens: int, device) -> tuple[object, SectionSchedule]:
        """Return a ready scheduler for one section and the schedule it will run."""
        mu = dynamic_mu(noisy_tokens, self.base.config, self.exp_max)
        if self._scheduler is None:
            shift = self.shift
            if self.solver == "unipc" and self.rule == "dynamic":
                shift = math.exp(mu)  # UniPC shifts by a fixed flow_shift; use the rule's value
            rule = "fixed" if self.solver == "unipc" else self.rule
            self._scheduler = SOLVERS[self.solver](self.base, rule, shift, self.num_steps)
        scheduler = self._scheduler
        sigmas = base_sigmas(self.num_inference_steps) if self.sigmas is None else np.asarray(self.sigmas)
        kwargs = {"sigmas": sigmas}
        if "mu" in _set_timesteps_params(scheduler):
            kwargs["mu"] = mu  # as the pipeline does; a fixed-shift scheduler ignores it
        scheduler.set_timesteps(device=device, **kwargs)
        schedule = SectionSchedule(
            solver=self.solver,
            rule=self.rule,
            shift=math.exp(mu) if self.rule == "dynamic" else self.shift,
            mu=mu if self.rule == "dynamic" else None,
            sigmas=tuple(float(s) for s in scheduler.sigmas.detach().cpu().tolist()),
            timesteps=tuple(float(t) for t in scheduler.timesteps.detach().cpu().tolist()),
        )
        return scheduler, schedule


def _set_timesteps_params(scheduler) -> set[str]:
    import inspect

    return set(inspect.signature(scheduler.set_timesteps).parameters)
