"""On a CUDA device: parity under half precision and offloading, recording bit identity, the section
clock on a non-default device, and what each recording level costs in GPU / pinned host memory.
Marked `gpu` (deselected by default, skipped without CUDA): `python -m pytest -m gpu tests/test_gpu.py`."""

import pytest
import torch

import fpkit

from helpers import base_kwargs, gen, make_image

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.fixture(scope="module")
def image():
    return make_image(0, 64, 96)


def _pipe(dtype=torch.float32):
    pipe = fpkit.tiny_pipeline(seed=0, latent_channels=16, transformer_kwargs=dict(
        num_attention_heads=4, attention_head_dim=32, num_layers=2, num_single_layers=2, rope_axes_dim=(8, 12, 12)))
    return pipe.to(dtype=dtype)


def _kwargs(image, **kw):
    return base_kwargs(image, height=64, width=96, num_frames=33, latent_window_size=4, num_inference_steps=3, **kw)


@pytest.mark.parametrize("offload", [None, "model", "group"])
@pytest.mark.parametrize("sampling_type", ["vanilla", "inverted_anti_drifting"])
def test_bf16_parity_under_offloading(image, offload, sampling_type):
    pipe = fpkit.pipelines.apply_offload(_pipe(torch.bfloat16), offload, "cuda")
    kwargs = _kwargs(image, sampling_type=sampling_type)
    want = pipe(**kwargs, generator=gen(0), output_type="pt").frames[0]
    run = fpkit.sample(pipe, **kwargs, generator=gen(0))
    assert run.videos.device.type == "cpu" and run.videos.dtype == torch.bfloat16
    assert torch.equal(run.video, want.cpu())
    assert run.trace.settings["device"].startswith("cuda")


def test_recording_is_bit_identical_on_cuda(image):
    pipe = _pipe().to("cuda")
    kwargs = _kwargs(image, sampling_type="inverted_anti_drifting")
    runs = {level: fpkit.sample(pipe, **kwargs, generator=gen(1), record=level)
            for level in ("none", "sections", "steps")}
    for level in ("sections", "steps"):
        assert torch.equal(runs[level].video, runs["none"].video)
    trace = runs["steps"].trace
    assert trace.latents.device.type == "cpu" and trace.sections[0].step_latents.device.type == "cpu"
    assert all(rec.seconds > 0 for rec in trace.sections)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_clock_times_the_pipelines_device_not_the_current_one(image):
    pipe = _pipe().to("cuda:1")
    with torch.cuda.device(0):  # the current device is not the pipeline's
        run = fpkit.sample(pipe, **_kwargs(image), generator=gen(0))
    assert run.trace.settings["device"] == "cuda:1"
    assert all(rec.seconds > 0 for rec in run.trace.sections)


def test_peak_memory_of_each_recording_level(image):
    """Recording copies to the host: GPU peak within 5% of the plain call at every level; only the
    latent video is pinned (steps go to pageable memory)."""
    pipe = _pipe(torch.bfloat16).to("cuda")
    kwargs = {**_kwargs(make_image(0, 256, 384)), "height": 256, "width": 384}  # steps: 3.5 MB, video 0.6 MB
    peaks, pinned = {}, {}
    for name, call in {"pipe": lambda: pipe(**kwargs, generator=gen(0), output_type="pt"),
                       **{level: (lambda level=level: fpkit.sample(pipe, **kwargs, generator=gen(0), record=level))
                          for level in ("none", "sections", "steps")}}.items():
        call()  # warm
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.memory.reset_peak_host_memory_stats()
        call()
        torch.cuda.synchronize()
        peaks[name] = torch.cuda.max_memory_allocated()
        pinned[name] = torch.cuda.memory.host_memory_stats().get("allocated_bytes.peak")
    print({k: f"{v / 2**20:.1f} MiB" for k, v in peaks.items()}, "pinned peak", pinned)
    for level in ("none", "sections", "steps"):
        assert peaks[level] <= 1.05 * peaks["pipe"] + 2 ** 20
    if pinned["steps"] is None:
        pytest.skip("this torch reports no host (pinned) memory statistics")
    plan = fpkit.sample(pipe, **kwargs, generator=gen(0)).trace.plan
    video = fpkit.trace.recording_cost(plan, "sections", channels=16)["latent_video_bytes"]
    steps = fpkit.trace.recording_cost(plan, "steps", num_steps=3, channels=16)["steps_bytes"]
    assert pinned["steps"] - pinned["none"] <= video + 2 ** 18 < steps
