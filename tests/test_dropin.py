"""fpkit.sample as a drop-in for pipe(...): every keyword of the pipeline's __call__, callback objects,
batches, explicit sigmas, return_dict=False and the per-section latent output, against the pipeline
itself on tiny offline components."""

import inspect

import pytest
import torch
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback

import fpkit
from fpkit.sampler import cross_fade

from helpers import base_kwargs, gen, make_image


def test_every_pipeline_parameter_is_accepted(tiny_pipe):
    """sample() takes every keyword of HunyuanVideoFramepackPipeline.__call__ with the same default."""
    pipe_params = inspect.signature(type(tiny_pipe).__call__).parameters
    ours = inspect.signature(fpkit.sample).parameters
    missing = [n for n in pipe_params if n != "self" and n not in ours]
    assert missing == []
    # Defaults must mean the same. Differences on purpose: `image` is required by both (fpkit checks it
    # itself, with a clear error); fpkit returns tensors by default; its template sentinel means
    # the pipeline module's DEFAULT_PROMPT_TEMPLATE.
    def norm(value):
        value = getattr(value, "value", value)  # FramepackSamplingType.X -> its string
        return list(value) if isinstance(value, tuple) else value

    differ = {n: (p.default, ours[n].default) for n, p in pipe_params.items()
              if n not in ("self", "image", "output_type", "prompt_template")
              and norm(p.default) != norm(ours[n].default)}
    assert differ == {}


class _ScaleEmbeds(PipelineCallback):
    """A callback object whose own tensor inputs include prompt_embeds (diffusers reads them from it)."""

    tensor_inputs = ["latents", "prompt_embeds"]

    def callback_fn(self, pipeline, step_index, timestep, callback_kwargs):
        return {"latents": callback_kwargs["latents"] * 0.9, "prompt_embeds": callback_kwargs["prompt_embeds"] * 0.5}


@pytest.mark.parametrize("multi", [False, True])
def test_callback_objects_take_their_own_tensor_inputs(tiny_pipe, image, multi):
    callback = MultiPipelineCallbacks([_ScaleEmbeds()]) if multi else _ScaleEmbeds()
    kwargs = base_kwargs(image)
    want = tiny_pipe(**kwargs, generator=gen(0), output_type="pt", callback_on_step_end=callback).frames[0]
    run = fpkit.sample(tiny_pipe, **kwargs, generator=gen(0), callback_on_step_end=callback)
    plain = fpkit.sample(tiny_pipe, **kwargs, generator=gen(0))
    assert (run.video - want).abs().max().item() <= 1e-5
    assert not torch.equal(run.video, plain.video)


def test_prompt_and_image_lists_give_one_video_each(tiny_pipe, image):
    images = [image, make_image(5)]
    kwargs = base_kwargs(images, prompt=["a red ball bounces", "a blue cube"], num_frames=9)
    want = tiny_pipe(**kwargs, generator=gen(2), output_type="pt").frames
    run = fpkit.sample(tiny_pipe, **kwargs, generator=gen(2))
    assert run.videos.shape[0] == 2 and run.videos.shape == want.shape
    assert (run.videos - want).abs().max().item() <= 1e-5
    assert not torch.equal(run.videos[0], run.videos[1])


@pytest.mark.parametrize("prompt, two_images, extra, match", [
    (["a", "b"], False, {}, "2 prompts need 2 images"),
    ("a", True, {}, "image holds 2 images for 1 prompt"),
    ("a", False, {"num_videos_per_prompt": 2}, "one video per prompt"),
])
def test_batches_the_pipeline_cannot_run_fail_early(tiny_pipe, image, prompt, two_images, extra, match):
    """diffusers fails deep inside the transformer (a torch.cat size error); fpkit says why, first."""
    calls = []
    handle = tiny_pipe.transformer.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        with pytest.raises(ValueError, match=match):
            fpkit.sample(tiny_pipe, **base_kwargs([image, image] if two_images else image, prompt=prompt, **extra),
                         generator=gen(0))
    finally:
        handle.remove()
    assert calls == []


@pytest.mark.parametrize("sampling_type", ["vanilla", "inverted_anti_drifting"])
def test_explicit_sigmas_ending_at_zero(tiny_pipe, image, sampling_type):
    kwargs = base_kwargs(image, sampling_type=sampling_type, sigmas=[1.0, 0.5, 0.0])
    with pytest.warns(RuntimeWarning):  # diffusers' time shift divides by sigma = 0 (and maps it to 0)
        want = tiny_pipe(**kwargs, generator=gen(1), output_type="pt").frames[0]
    with pytest.warns(RuntimeWarning):
        run = fpkit.sample(tiny_pipe, **kwargs, generator=gen(1))
    assert (run.video - want).abs().max().item() <= 1e-5
    assert run.trace.sections[0].schedule.num_steps == 3
    for bad in ([1.0, 0.5, 0.5], [0.5, 1.0], [1.5, 0.5], [1.0, float("nan")], []):
        with pytest.raises(ValueError, match="sigmas must be"):
            fpkit.sample(tiny_pipe, **base_kwargs(image, sigmas=bad), generator=gen(1))


def test_return_dict_false_indexes_like_the_pipeline(tiny_pipe, image):
    kwargs = base_kwargs(image, output_type="np", return_dict=False)
    want = tiny_pipe(**kwargs, generator=gen(0))
    run = fpkit.sample(tiny_pipe, **kwargs, generator=gen(0))
    assert isinstance(want, tuple) and len(run) == len(want) == 1
    assert abs(run[0] - want[0]).max() <= 1e-5
    (frames,) = run
    assert frames is run.frames and run.trace is not None


@pytest.mark.parametrize("sampling_type, num_frames", [("vanilla", 17), ("inverted_anti_drifting", 30)])
def test_latent_output_is_one_cumulative_latent_per_section(tiny_pipe, image, sampling_type, num_frames):
    kwargs = base_kwargs(image, sampling_type=sampling_type, num_frames=num_frames, output_type="latent")
    want = tiny_pipe(**kwargs, generator=gen(3)).frames
    run = fpkit.sample(tiny_pipe, **kwargs, generator=gen(3))
    assert isinstance(run.frames, list) and len(run.frames) == len(want) == run.trace.plan.num_sections
    for got, ref in zip(run.frames, want):
        assert got.shape == ref.shape and (got - ref).abs().max().item() <= 1e-5
    assert torch.equal(run.frames[-1], run.latents) and run.video is None


def test_cross_fade_is_the_pipelines_join(tiny_pipe):
    g = gen(0)
    a, b = torch.randn(1, 3, 9, 4, 4, generator=g), torch.randn(1, 3, 7, 4, 4, generator=g)
    for overlap in (0, 1, 5, 7):
        assert torch.equal(cross_fade(a, b, overlap), tiny_pipe._soft_append(a, b, overlap))
    with pytest.raises(ValueError, match="cannot overlap by 8"):
        cross_fade(a, b, 8)


def test_video_comes_back_on_the_cpu_in_the_vae_dtype(tiny_pipe, image):
    run = fpkit.sample(tiny_pipe, **base_kwargs(image), generator=gen(0))
    assert run.videos.device.type == "cpu" and run.videos.dtype == tiny_pipe.vae.dtype == torch.float32
