"""Intervention sites and anti-drifting methods: no-op settings are bit-identical, each method changes
what it claims and nothing else, observers cannot write back, nothing stays installed."""

from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

import fpkit
from fpkit import methods as M

from helpers import base_kwargs, gen

KW = dict(num_frames=30, num_inference_steps=2)  # 4 sections of lws 3


def _run(pipe, image, methods=(), **kw):
    return fpkit.sample(pipe, **base_kwargs(image, **{**KW, **kw}), generator=gen(4), methods=methods)


@pytest.fixture(scope="module")
def plain(tiny_pipe, image):
    return {st: _run(tiny_pipe, image, sampling_type=st) for st in ("vanilla", "inverted_anti_drifting")}


def _section(run, order):
    return next(s for s in run.trace.sections if s.plan.order == order).latents


@pytest.mark.parametrize("method", [M.HistoryNoise(sigma=0.0), M.HistoryGuidance(scale=1.0),
                                    M.LatentStats(strength=0.0)])
@pytest.mark.parametrize("sampling_type", ["vanilla", "inverted_anti_drifting"])
def test_no_op_settings_are_bit_identical(tiny_pipe, image, plain, method, sampling_type):
    run = _run(tiny_pipe, image, [method], sampling_type=sampling_type)
    assert torch.equal(run.video, plain[sampling_type].video)
    assert run.trace.settings["methods"] == [{**method.to_dict(), "sites": list(method.sites())}]


@pytest.mark.parametrize("method", [M.HistoryNoise(sigma=0.3), M.AnchorOnly(), M.HistoryQuantize(k=4),
                                    M.HistoryGuidance(scale=3.0)])
def test_history_methods_leave_the_first_section_alone(tiny_pipe, image, plain, method):
    """Vanilla's first section has no generated history, so a method acting on history cannot change it."""
    run = _run(tiny_pipe, image, [method], sampling_type="vanilla")
    base = plain["vanilla"]
    assert torch.equal(_section(run, 0), _section(base, 0))
    assert not torch.equal(_section(run, 2), _section(base, 2))


def test_anchor_only_empties_history_and_keeps_the_anchor(tiny_pipe, image):
    seen = []
    hook = tiny_pipe.transformer.register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append({k: kwargs[k].clone() for k in ("latents_clean", "latents_history_2x",
                                                                              "latents_history_4x")}),
        with_kwargs=True)
    try:
        run = _run(tiny_pipe, image, [M.AnchorOnly()], sampling_type="vanilla", num_inference_steps=1)
    finally:
        hook.remove()
    start = run.trace.latents[:, :, 0:1]
    assert len(seen) == run.trace.plan.num_sections == 4
    for inputs in seen:
        assert torch.equal(inputs["latents_clean"][:, :, 0:1].half(), start)  # the anchor
        history = torch.cat([inputs["latents_clean"][:, :, 1:], inputs["latents_history_2x"],
                             inputs["latents_history_4x"]], dim=2)
        for f in range(history.shape[2]):  # generated frames are gone; F1's layout may still show the start
            frame = history[:, :, f:f + 1]
            assert not frame.any() or torch.equal(frame.half(), start)
    assert not torch.equal(run.video, _run(tiny_pipe, image, sampling_type="vanilla", num_inference_steps=1).video)


def test_latent_stats_matches_each_section_to_the_start(tiny_pipe, image):
    run = _run(tiny_pipe, image, [M.LatentStats()], sampling_type="vanilla")
    start = run.trace.latents[:, :, 0:1].float()
    for rec in run.trace.sections:
        x = rec.latents.float()
        assert torch.allclose(x.mean((2, 3, 4)), start.mean((2, 3, 4)), atol=2e-3)
        assert torch.allclose(x.std((2, 3, 4)), start.std((2, 3, 4)), atol=2e-3)


def test_a_user_method_written_against_the_documented_api(tiny_pipe, image, plain):
    @dataclass(frozen=True)
    class DampLastStep(M.Method):
        factor: float = 0.5
        name: ClassVar[str] = "damp_last_step"

        def step_latents(self, latents, state):
            last = state.step == state.pipe._num_timesteps - 1
            return latents * self.factor if last else latents

    method = DampLastStep()
    assert method.sites() == ("step.latents",) and method.to_dict() == {"name": "damp_last_step", "factor": 0.5}
    run = _run(tiny_pipe, image, [method], sampling_type="vanilla")
    base = plain["vanilla"]
    assert torch.allclose(_section(run, 0).float(), _section(base, 0).float() * 0.5, atol=1e-2)


def test_a_mutating_observer_cannot_change_the_video(tiny_pipe, image, plain):
    def vandal(event):
        for name in ("sample", "model_output", "prev_sample", "latents"):
            value = getattr(event, name, None)
            if isinstance(value, torch.Tensor):
                value.mul_(0.5)

    run = fpkit.sample(tiny_pipe, **base_kwargs(image, **KW, sampling_type="vanilla"), generator=gen(4),
                       observers=[vandal])
    assert torch.equal(run.video, plain["vanilla"].video)


def test_nothing_stays_installed(tiny_pipe, image, plain):
    hooks_before = [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in tiny_pipe.transformer.modules()]
    _run(tiny_pipe, image, [M.HistoryGuidance(scale=2.0), M.HistoryNoise(sigma=0.2)], sampling_type="vanilla")
    hooks_after = [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in tiny_pipe.transformer.modules()]
    assert hooks_after == hooks_before
    assert torch.equal(_run(tiny_pipe, image, sampling_type="vanilla").video, plain["vanilla"].video)


def test_methods_compose_with_every_sampling_type(tiny_pipe, image, last_image):
    for st in fpkit.planning.STRATEGIES:
        keyframes = {5: last_image} if st == "keyframes" else None
        run = fpkit.sample(tiny_pipe, **base_kwargs(image, **KW, sampling_type=st), generator=gen(0),
                           methods=[M.AnchorOnly(), M.LatentStats(), "history_noise"], keyframes=keyframes)
        assert run.video.shape[0] == run.trace.plan.num_frames(4)
        assert [m["name"] for m in run.trace.settings["methods"]] == ["anchor_only", "latent_stats", "history_noise"]


@pytest.mark.parametrize("spec, match", [
    ("no_such", r"unknown method 'no_such'; known: \["),
    ({"name": "history_noise", "sigmaa": 0.1}, r"no parameter\(s\) \['sigmaa'\]"),
    ({"name": "history_noise", "sigma": 1.5}, "history_noise.sigma must be <= 1.0, got 1.5"),
    ({"name": "history_noise", "sigma": float("nan")}, "history_noise.sigma must be a finite number, got nan"),
    ({"name": "history_quantize", "k": 0}, "history_quantize.k must be an int >= 1, got 0"),
    ({"name": "latent_stats", "strength": "1"}, "latent_stats.strength must be a finite number, got '1'"),
    (42, "methods must be fpkit.methods.Method instances, names or dicts, got 42"),
])
def test_bad_methods_fail_before_any_model_runs(tiny_pipe, image, spec, match):
    calls = []
    handle = tiny_pipe.transformer.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        with pytest.raises(ValueError, match=match):
            _run(tiny_pipe, image, [spec])
    finally:
        handle.remove()
    assert calls == []


def test_repeated_i2v_conditions_on_the_frame_before(tiny_pipe, image, plain):
    seen = []
    hook = tiny_pipe.transformer.register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append((kwargs["latents_clean"].clone(), kwargs["image_embeds"].clone(),
                                               kwargs["latents_history_4x"].clone())), with_kwargs=True)
    try:
        run = _run(tiny_pipe, image, [M.RepeatedI2V()], sampling_type="vanilla", num_inference_steps=1)
    finally:
        hook.remove()
    base = _run(tiny_pipe, image, sampling_type="vanilla", num_inference_steps=1)
    assert torch.equal(_section(run, 0), _section(base, 0))  # nothing generated before it: unchanged
    lat = run.trace.latents
    for order, (clean, embeds, hist4) in enumerate(seen[1:], start=1):
        a, _ = run.trace.sections[order].plan.window
        assert torch.equal(clean[:, :, 0:1].half(), lat[:, :, a - 1:a])  # the anchor: the frame before
        # the first section's layout (F1 repeats the start image in its 1x slot), no generated history
        assert torch.equal(clean[:, :, 1:2], clean[:, :, 0:1]) and not hist4.any()
        assert not torch.equal(embeds, seen[0][1])  # the frame's own SigLIP embedding
    assert not torch.equal(run.video, base.video)


def test_vae_roundtrip_changes_what_enters_history(tiny_pipe, image, plain):
    base = plain["vanilla"]
    rt = _run(tiny_pipe, image, [M.VaeRoundtrip()], sampling_type="vanilla")
    first = _section(rt, 0).float()
    want = M.encode(tiny_pipe, M.decode(tiny_pipe, _section(base, 0).float()).clamp(-1, 1))
    assert torch.allclose(first, want, atol=5e-3) and not torch.allclose(first, _section(base, 0).float(), atol=5e-3)


def test_colour_match_undoes_a_colour_shift_through_the_toy_codec():
    """A section whose colours drifted (a world clip tinted red) comes back to the start frame's
    Lab statistics after colour_match; its control, vae_roundtrip, keeps the tint."""
    from skimage import color

    from fpkit.toy import load_organism, world

    pipe = load_organism("f1")
    frames = world.render_clip(world.EVAL_SEED_OFFSET, 5).frames  # (T, 3, H, W) in [0, 1]
    clip = frames.permute(1, 0, 2, 3)[None] * 2 - 1  # (1, 3, T, H, W) in [-1, 1]
    tinted = clip[:, :, 1:].clone()
    tinted[:, 0] = (tinted[:, 0] + 0.3).clamp(-1, 1)
    latents = M.encode(pipe, tinted)
    state = M.SiteState(pipe=pipe, plan=None, section=None, canvas=None, start_image=clip[:, :, 0])

    def gap(lat):
        px = ((M.decode(pipe, lat)[0].permute(1, 2, 3, 0).numpy() + 1) / 2).clip(0, 1)
        ref = color.rgb2lab(frames[0].permute(1, 2, 0).numpy()).mean((0, 1))
        return float(abs(color.rgb2lab(px).mean((0, 1, 2)) - ref).sum())

    matched = M.ColourMatch().section_latents(latents, state)
    control = M.VaeRoundtrip().section_latents(latents, state)
    assert gap(matched) < 0.25 * gap(control) and gap(control) > 10


@pytest.mark.parametrize("kind", M.CACHE_KINDS)
def test_cache_is_installed_for_the_call_only_and_reset_per_section(tiny_pipe, image, plain, kind):
    kw = dict(sampling_type="vanilla", num_inference_steps=6)
    base = _run(tiny_pipe, image, **kw)
    cached = _run(tiny_pipe, image, [M.Cache(kind=kind, threshold=0.5)], **kw)
    assert not tiny_pipe.transformer.is_cache_enabled
    assert not torch.equal(cached.video, base.video)  # steps were reused
    kept = _run(tiny_pipe, image, [M.Cache(kind=kind, threshold=0.5, reset=False)], **kw)
    if kind != "pyramid_attention_broadcast":  # PAB keeps no state across a section boundary worth resetting
        assert not torch.equal(kept.video, cached.video)
    assert torch.equal(_run(tiny_pipe, image, **kw).video, base.video)  # nothing left behind


def test_cache_is_removed_when_the_call_fails(tiny_pipe, image):
    def boom(event):
        if type(event).__name__ == "StepEnded":
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        fpkit.sample(tiny_pipe, **base_kwargs(image, **KW), generator=gen(0), methods=[M.Cache()], observers=[boom])
    assert not tiny_pipe.transformer.is_cache_enabled


@pytest.mark.parametrize("policy", ["forward", "whole"])
def test_decode_policy_is_shared_across_strategies(tiny_pipe, image, plain, policy):
    """The same latents decode to the same pixels whichever strategy made them, under one policy."""
    inv = plain["inverted_anti_drifting"]
    lat = inv.latents
    shared = fpkit.sample(tiny_pipe, **base_kwargs(image, **KW, sampling_type="inverted_anti_drifting"),
                          generator=gen(4), decode=policy)
    assert torch.equal(shared.latents, lat)  # decoding never changes sampling
    plan = fpkit.planning.plan("vanilla", inv.trace.plan.num_sections, 3, (4, 6))
    chunks = fpkit.planning.decode_chunks(plan, policy)
    assert fpkit.planning.decode_chunks(inv.trace.plan, policy) == chunks
    if policy == "forward":
        assert chunks == plan.decode
    assert not torch.equal(shared.video, inv.video)  # the inverted default cross-fades the other way
    with pytest.raises(ValueError, match="decode must be one of"):
        fpkit.sample(tiny_pipe, **base_kwargs(image, **KW), generator=gen(4), decode="backward")
