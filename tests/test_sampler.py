"""fpkit.sample against HunyuanVideoFramepackPipeline on tiny offline components."""

import warnings

import numpy as np
import pytest
import torch

import fpkit

from helpers import base_kwargs, gen

PARITY_CASES = [
    # (sampling_type, with_last_image, lws, num_frames, steps, seed)
    ("vanilla", False, 3, 17, 2, 0),
    ("vanilla", False, 2, 1, 1, 1),
    ("vanilla", False, 5, 40, 3, 2),
    ("vanilla", False, 1, 9, 2, 3),
    ("inverted_anti_drifting", False, 3, 17, 2, 0),
    ("inverted_anti_drifting", False, 2, 45, 2, 4),  # 6 sections: the n > 4 padding rule
    ("inverted_anti_drifting", False, 5, 1, 3, 5),
    ("inverted_anti_drifting", True, 3, 17, 2, 6),
    ("inverted_anti_drifting", True, 4, 30, 1, 7),
]


@pytest.mark.parametrize("sampling_type, with_last, lws, num_frames, steps, seed", PARITY_CASES)
def test_parity_with_diffusers(tiny_pipe, image, last_image, sampling_type, with_last, lws, num_frames, steps,
                               seed):
    kwargs = base_kwargs(image, sampling_type=sampling_type, latent_window_size=lws, num_frames=num_frames,
                         num_inference_steps=steps, last_image=last_image if with_last else None)
    want = tiny_pipe(**kwargs, generator=gen(seed), output_type="pt").frames[0]
    want_latents = tiny_pipe(**kwargs, generator=gen(seed), output_type="latent").frames[-1]
    run = fpkit.sample(tiny_pipe, **kwargs, generator=gen(seed))
    assert run.video.shape == want.shape
    assert (run.video - want).abs().max().item() <= 1e-5
    assert run.latents.shape == want_latents.shape
    assert (run.latents - want_latents).abs().max().item() <= 1e-5
    assert run.num_frames == run.trace.plan.num_frames(4) == run.trace.settings["num_frames"]


def test_parity_true_cfg(tiny_pipe, image):
    kwargs = base_kwargs(image, sampling_type="inverted_anti_drifting", negative_prompt="blurry",
                         true_cfg_scale=3.0)
    want = tiny_pipe(**kwargs, generator=gen(3), output_type="pt").frames[0]
    run = fpkit.sample(tiny_pipe, **kwargs, generator=gen(3))
    plain = fpkit.sample(tiny_pipe, **{**kwargs, "true_cfg_scale": 1.0}, generator=gen(3))
    assert (run.video - want).abs().max().item() <= 1e-5
    assert run.trace.settings["do_true_cfg"] and not torch.equal(run.video, plain.video)


def test_recording_levels_are_bit_identical(tiny_pipe, image):
    kwargs = base_kwargs(image, sampling_type="inverted_anti_drifting", num_frames=30, num_inference_steps=3)
    runs = {level: fpkit.sample(tiny_pipe, **kwargs, generator=gen(1), record=level)
            for level in ("none", "sections", "steps")}
    for level in ("sections", "steps"):
        assert torch.equal(runs[level].video, runs["none"].video)
        assert torch.equal(runs[level].latents, runs["none"].latents)
    plan = runs["steps"].trace.plan
    assert runs["none"].trace.latents is None and runs["none"].trace.sections[0].latents is None
    trace = runs["steps"].trace
    assert len(trace.sections) == plan.num_sections == 4
    for rec in trace.sections:
        assert rec.schedule.num_steps == 3
        assert rec.step_latents.shape[0] == rec.step_x0.shape[0] == 3
        assert rec.latents.dtype == torch.float16
        # the last step's latents are the section's latents; x0 at the last Euler step equals them too
        assert torch.equal(rec.step_latents[-1], rec.latents)
        torch.testing.assert_close(rec.step_x0[-1].float(), rec.latents.float(), atol=2e-3, rtol=0)
        a, b = rec.plan.window
        torch.testing.assert_close(rec.latents.float(), runs["none"].latents[:, :, a:b], atol=2e-3, rtol=1e-3)
    assert runs["sections"].trace.sections[0].step_latents is None


def test_trace_records_plan_schedule_and_order(tiny_pipe, image):
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="inverted_anti_drifting", num_frames=30),
                       generator=gen(0), flow_shift=3.0)
    t = run.trace
    assert [r.plan.order for r in t.sections] == [0, 1, 2, 3]
    assert [r.plan.index for r in t.sections] == [3, 2, 1, 0]
    assert all(r.schedule.shift == 3.0 and r.schedule.rule == "fixed" for r in t.sections)
    assert all(r.seconds is not None and r.seconds > 0 for r in t.sections)
    frame = t.to_frame()
    assert list(frame["index"]) == [3, 2, 1, 0]
    assert list(frame["frame_start"]) == [37, 25, 13, 1] and frame["frame_stop"].max() == run.num_frames
    assert set(frame["layout"]) == {"f1k1_x_g3_f1k1f2k2f16k4_td", "f1k1_g3_f1k1f2k2f16k4_td"}
    slots = t.to_frame("slots")
    assert len(slots) == 4 * 6 and set(slots["kind"]) == {"anchor", "gap", "noisy", "history"}
    steps = t.to_frame("steps")
    assert len(steps) == 4 * 2 and steps["sigma"].between(0, 1).all()


def test_transformer_sees_the_planned_token_count(tiny_pipe, image, last_image):
    """The packed sequence the transformer builds has exactly the plan's token count."""
    seen = []
    hook = tiny_pipe.transformer.transformer_blocks[0].register_forward_pre_hook(
        lambda mod, args: seen.append(args[0].shape[1]))
    try:
        for st, li in (("vanilla", None), ("inverted_anti_drifting", last_image), ("anti_drifting", None)):
            seen.clear()
            run = fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type=st, last_image=li, num_frames=30,
                                                        num_inference_steps=1), generator=gen(0))
            assert seen == [s.total_tokens for s in run.trace.plan.sections]
    finally:
        hook.remove()


def test_anti_drifting_fills_every_window(tiny_pipe, image, last_image):
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="anti_drifting", num_frames=40,
                                                last_image=last_image), generator=gen(2))
    plan = run.trace.plan
    assert [s.index for s in plan.sections] == [0, 4, 1, 2, 3]
    assert run.latents.shape[2] == plan.num_latents
    assert (run.latents.abs().flatten(3).amax(-1) > 0).all()  # no window left as zeros
    assert run.video.shape[0] == plan.num_frames(4)
    assert torch.isfinite(run.video).all()


def test_shared_noise_and_schedule_knobs(tiny_pipe, image):
    start = fpkit.sample(tiny_pipe, **base_kwargs(image), generator=gen(0), output_type="latent").latents[:, :, :1]
    kwargs = base_kwargs(image, num_frames=17, image_latents=start)
    noise = torch.randn(1, 4, 6, 4, 6, generator=gen(9))
    a = fpkit.sample(tiny_pipe, **kwargs, latents=noise, generator=gen(1))
    b = fpkit.sample(tiny_pipe, **kwargs, latents=noise, generator=gen(2))
    assert torch.equal(a.video, b.video)  # given noise and start latent, the generator plays no part
    assert not torch.equal(a.video, fpkit.sample(tiny_pipe, **kwargs, generator=gen(1)).video)
    c = fpkit.sample(tiny_pipe, **kwargs, latents=noise, generator=gen(1), flow_shift=1.5)
    assert not torch.equal(a.video, c.video)
    d = fpkit.sample(tiny_pipe, **{**kwargs, "num_inference_steps": 4}, latents=noise, solver="unipc")
    assert d.trace.sections[0].schedule.solver == "unipc" and torch.isfinite(d.video).all()
    with pytest.raises(ValueError, match=r"latents must be \(B, C, 6, 4, 6\)"):
        fpkit.sample(tiny_pipe, **kwargs, latents=noise[:, :, :5])


def test_pipeline_scheduler_untouched(tiny_pipe, image):
    before = dict(tiny_pipe.scheduler.config)
    fpkit.sample(tiny_pipe, **base_kwargs(image), generator=gen(0), flow_shift=2.0, solver="euler")
    assert dict(tiny_pipe.scheduler.config) == before


def test_observers_see_events_in_order(tiny_pipe, image):
    events = []
    fpkit.sample(tiny_pipe, **base_kwargs(image, num_frames=17), generator=gen(0), record="none",
                 observers=[lambda e: events.append(type(e).__name__)])
    per_section = ["SectionStarted"] + ["StepEnded"] * 2 + ["SectionEnded"]
    assert events == ["RunStarted"] + per_section * 2 + ["RunEnded"]


def test_intervention_through_callback_changes_output(tiny_pipe, image):
    """Observers cannot change results; the diffusers callback can, as in the pipeline."""
    kwargs = base_kwargs(image)

    def zero(pipe, i, t, tensors):
        return {"latents": torch.zeros_like(tensors["latents"])}

    plain = fpkit.sample(tiny_pipe, **kwargs, generator=gen(0))
    hacked = fpkit.sample(tiny_pipe, **kwargs, generator=gen(0), callback_on_step_end=zero)
    want = tiny_pipe(**kwargs, generator=gen(0), output_type="pt", callback_on_step_end=zero).frames[0]
    assert not torch.equal(plain.video, hacked.video)
    assert (hacked.video - want).abs().max().item() <= 1e-5


def test_mismatched_checkpoint_warns(tiny_pipe, image):
    tiny_pipe.fpkit_checkpoint = "framepack-f1"
    try:
        with pytest.warns(UserWarning, match="trained for sampling_type='vanilla'"):
            fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="inverted_anti_drifting",
                                                  num_inference_steps=1), generator=gen(0))
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            fpkit.sample(tiny_pipe, **base_kwargs(image, num_inference_steps=1), generator=gen(0))
    finally:
        del tiny_pipe.fpkit_checkpoint


BAD_INPUTS = [
    (dict(sampling_type="forward"), "'forward'"),
    (dict(sampling_type="vanilla", last_image="LAST"), "'vanilla' does not take a last_image"),
    (dict(latent_window_size=0), "latent_window_size must be an int >= 1, got 0"),
    (dict(height=40), "height=40 is not divisible by 16"),
    (dict(width=20), "width=20 is not divisible by 16"),
    (dict(num_frames=0), "num_frames must be an int >= 1, got 0"),
    (dict(image="cat.png"), r"image must be a PIL image, numpy array or torch tensor \(or a non-empty list of them\), got str"),
    (dict(output_type="gif"), "'gif'"),
    (dict(flow_shift=0), "flow_shift must be a number > 0"),
    (dict(solver="dpm"), "unknown solver 'dpm'"),
    (dict(record="everything"), "'everything'"),
    (dict(threads=0), "threads must be None .* got 0"),
    (dict(threads=1.5), "threads must be None .* got 1.5"),
]


@pytest.mark.parametrize("overrides, match", BAD_INPUTS)
def test_bad_input_fails_before_any_model_runs(tiny_pipe, image, last_image, overrides, match):
    calls = []
    handles = [m.register_forward_pre_hook(lambda *a: calls.append(1))
               for m in (tiny_pipe.transformer, tiny_pipe.text_encoder, tiny_pipe.vae, tiny_pipe.image_encoder)]
    if overrides.get("last_image") == "LAST":
        overrides = {**overrides, "last_image": last_image}
    try:
        with pytest.raises(ValueError, match=match):
            fpkit.sample(tiny_pipe, **base_kwargs(image, **overrides), generator=gen(0))
    finally:
        for h in handles:
            h.remove()
    assert calls == []


@pytest.mark.parametrize("kind", ["numpy", "tensor"])
def test_numpy_and_tensor_images_as_diffusers_reads_them(tiny_pipe, image, kind):
    arr = np.asarray(image).astype(np.float32) / 255.0  # diffusers reads float arrays in [0, 1]
    img = arr if kind == "numpy" else torch.from_numpy(arr).permute(2, 0, 1)[None] * 2 - 1
    want = tiny_pipe(**base_kwargs(img), generator=gen(0), output_type="pt").frames[0]
    got = fpkit.sample(tiny_pipe, **base_kwargs(img), generator=gen(0))
    assert (got.video - want).abs().max().item() <= 1e-5


def test_save_video_writes_mp4(tiny_pipe, image, tmp_path):
    run = fpkit.sample(tiny_pipe, **base_kwargs(image), generator=gen(0))
    path = run.save_video(tmp_path / "clip.mp4", fps=8)
    import imageio.v3 as iio

    frames = iio.imread(path)
    assert frames.shape[0] == run.num_frames and frames.shape[1:3] == (32, 48)
    latent_only = fpkit.sample(tiny_pipe, **base_kwargs(image), generator=gen(0), output_type="latent")
    assert latent_only.video is None and torch.equal(latent_only.latents, run.latents)
    with pytest.raises(ValueError, match="no decoded video"):
        latent_only.save_video(tmp_path / "x.mp4")


def test_pipeline_history_default(tiny_pipe, image):
    """A pipeline may carry the history layout it was trained with; an explicit `history` wins."""
    tiny_pipe.fpkit_history = fpkit.HistorySpec(k1=1, k2=1, k4=4)
    try:
        run = fpkit.sample(tiny_pipe, **base_kwargs(image, num_inference_steps=1), generator=gen(0))
        assert [s.frames for s in run.trace.plan.sections[0].slots] == [1, 4, 1, 1, 3]
        run = fpkit.sample(tiny_pipe, **base_kwargs(image, num_inference_steps=1), generator=gen(0),
                           history=fpkit.HistorySpec())
        assert [s.frames for s in run.trace.plan.sections[0].slots] == [1, 16, 2, 1, 3]
    finally:
        del tiny_pipe.fpkit_history


def test_threads_scoped_to_the_call(tiny_pipe, image):
    """A small model on the CPU samples on one thread (fpkit.threads: two threads on a busy 2-core
    machine are several times slower); torch's setting is restored afterwards, and the video is the
    same whatever the thread count."""
    from fpkit.threads import sampling_threads

    seen = []

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert sampling_threads(tiny_pipe) == 1 and sampling_threads(tiny_pipe, 3) == 3
        hook = tiny_pipe.transformer.register_forward_pre_hook(lambda m, a: seen.append(torch.get_num_threads()))
        try:
            auto = fpkit.sample(tiny_pipe, **base_kwargs(image, num_inference_steps=2), generator=gen(0)).video
            two = fpkit.sample(tiny_pipe, **base_kwargs(image, num_inference_steps=2), generator=gen(0), threads=2).video
        finally:
            hook.remove()
        assert torch.get_num_threads() == 2
        half = len(seen) // 2
        assert set(seen[:half]) == {1} and set(seen[half:]) == {2}
        torch.testing.assert_close(auto, two, rtol=0, atol=1e-6)
    finally:
        torch.set_num_threads(before)
