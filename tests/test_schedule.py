import math

import numpy as np
import pytest
from diffusers import FlowMatchEulerDiscreteScheduler

from fpkit.schedule import SchedulePlanner, base_sigmas, calculate_mu, dynamic_mu, shift_sigmas


def test_mu_rule_and_cap():
    assert calculate_mu(256) == pytest.approx(0.5)
    assert calculate_mu(4096) == pytest.approx(1.15)
    cfg = {}
    # 608x640 -> 1520 tokens per latent frame. lws 9 hits the ln 7 cap; smaller windows shift less.
    assert math.exp(dynamic_mu(9 * 1520, cfg)) == pytest.approx(7.0)
    assert math.exp(dynamic_mu(5 * 1520, cfg)) == pytest.approx(5.7, abs=0.15)
    assert math.exp(dynamic_mu(3 * 1520, cfg)) == pytest.approx(3.4, abs=0.1)


def test_pipeline_rule_dynamic_and_fixed():
    base = FlowMatchEulerDiscreteScheduler(shift=7.0, use_dynamic_shifting=True)
    _, sched = SchedulePlanner(base, None, None, None, 4).setup(1000, "cpu")
    mu = dynamic_mu(1000, base.config)
    want = shift_sigmas(base_sigmas(4), math.exp(mu))
    assert sched.rule == "dynamic" and sched.shift == pytest.approx(math.exp(mu))
    np.testing.assert_allclose(sched.sigmas[:-1], want, rtol=1e-5)
    assert sched.sigmas[-1] == 0.0 and sched.timesteps[0] == pytest.approx(1000 * sched.sigmas[0], rel=1e-6)
    fixed = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=False)
    _, sched = SchedulePlanner(fixed, None, None, None, 4).setup(1000, "cpu")
    assert sched.rule == "fixed" and sched.shift == 3.0 and sched.mu is None
    np.testing.assert_allclose(sched.sigmas[:-1], shift_sigmas(base_sigmas(4), 3.0), rtol=1e-5)


def test_flow_shift_override_does_not_touch_pipeline_scheduler():
    base = FlowMatchEulerDiscreteScheduler(shift=7.0, use_dynamic_shifting=True)
    _, sched = SchedulePlanner(base, None, 2.5, None, 5).setup(1000, "cpu")
    np.testing.assert_allclose(sched.sigmas[:-1], shift_sigmas(base_sigmas(5), 2.5), rtol=1e-5)
    assert base.config.use_dynamic_shifting is True and base.config.shift == 7.0
    _, sched = SchedulePlanner(base, "euler", 1.0, [0.9, 0.5, 0.1], 3).setup(1000, "cpu")
    np.testing.assert_allclose(sched.sigmas, [0.9, 0.5, 0.1, 0.0], rtol=1e-6)  # shift 1 runs sigmas as given


def test_unipc_matches_reference_grid():
    """Flow-prediction UniPC with explicit sigmas reproduces the reference demo's grid (facts file)."""
    base = FlowMatchEulerDiscreteScheduler()
    scheduler, sched = SchedulePlanner(base, "unipc", 7.0, None, 25).setup(1000, "cpu")
    from diffusers import UniPCMultistepScheduler

    assert isinstance(scheduler, UniPCMultistepScheduler)
    np.testing.assert_allclose(sched.sigmas[:5], [1.0, 0.9941, 0.9877, 0.9809, 0.9735], atol=1e-4)
    np.testing.assert_allclose(sched.sigmas[-4:-1], [0.4884, 0.3784, 0.2258], atol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(solver="heun"), "unknown solver 'heun'"),
    (dict(flow_shift=-1), "flow_shift must be a number > 0"),
    (dict(flow_shift="big"), "'big'"),
    (dict(sigmas=[0.5, 0.9]), "strictly decreasing"),
    (dict(steps=0), "num_inference_steps must be an int >= 1, got 0"),
])
def test_bad_schedule_arguments(kwargs, match):
    base = FlowMatchEulerDiscreteScheduler()
    with pytest.raises(ValueError, match=match):
        SchedulePlanner(base, kwargs.get("solver"), kwargs.get("flow_shift"), kwargs.get("sigmas"),
                        kwargs.get("steps", 4))


@pytest.mark.parametrize("steps", [2, 4, 25])
def test_unipc_solves_an_exact_flow_to_its_target(steps):
    """With the exact velocity of a straight flow, the solver lands on x0 (finite, no NaN at sigma 0)."""
    import torch

    scheduler, sched = SchedulePlanner(FlowMatchEulerDiscreteScheduler(), "unipc", 3.0, None, steps).setup(64, "cpu")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 3, 4, 4, generator=g)
    x0 = 0.3 * torch.randn(1, 4, 3, 4, 4, generator=g)
    for i, t in enumerate(scheduler.timesteps):
        sigma = sched.sigmas[i]
        noise = (x - (1 - sigma) * x0) / sigma
        x = scheduler.step(noise - x0, t, x, return_dict=False)[0]
    torch.testing.assert_close(x, x0, atol=1e-4, rtol=1e-4)
