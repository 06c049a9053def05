import pytest
import torch

import fpkit
from fpkit.pipelines import CHECKPOINTS, checkpoint_of, load_pipeline
from helpers import base_kwargs, gen


def test_registry_knows_which_sampling_each_checkpoint_needs():
    assert CHECKPOINTS["framepack-i2v"].sampling_type == "inverted_anti_drifting"
    assert CHECKPOINTS["framepack-f1"].sampling_type == "vanilla"
    assert CHECKPOINTS["framepack-f1"].repo == "lllyasviel/FramePack_F1_I2V_HY_20250503"


def test_save_pretrained_then_load_pipeline_gives_the_same_video(tiny_pipe, image, tmp_path):
    tiny_pipe.save_pretrained(tmp_path / "pipe")
    loaded = load_pipeline(tmp_path / "pipe", dtype=torch.float32, vae_tiling=False)
    loaded.set_progress_bar_config(disable=True)
    a = fpkit.sample(tiny_pipe, **base_kwargs(image), generator=gen(0))
    b = fpkit.sample(loaded, **base_kwargs(image), generator=gen(0))
    assert (a.video - b.video).abs().max().item() <= 1e-5  # reloaded modules may pick other kernels
    assert type(loaded.tokenizer).__name__ == type(tiny_pipe.tokenizer).__name__


def test_checkpoint_detected_from_transformer_source(tiny_pipe):
    tiny_pipe.transformer.register_to_config(_name_or_path="/cache/lllyasviel/FramePack_F1_I2V_HY_20250503")
    try:
        assert checkpoint_of(tiny_pipe).name == "framepack-f1"
    finally:
        tiny_pipe.transformer.register_to_config(_name_or_path="")
    assert checkpoint_of(tiny_pipe) is None


@pytest.mark.parametrize("kwargs, match", [
    (dict(name_or_path="framepack-xl"), "unknown pipeline 'framepack-xl'"),
    (dict(name_or_path="framepack-f1", offload="disk"), "offload must be one of"),
    (dict(name_or_path="framepack-f1", dtype="bf16"), "dtype must be a torch.dtype"),
])
def test_load_pipeline_rejects_bad_arguments_before_loading(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_pipeline(**kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_offload_needs_an_accelerator():
    with pytest.raises(ValueError, match="no CUDA device"):
        load_pipeline("framepack-f1", offload="model")


@pytest.mark.slow
@pytest.mark.parametrize("sampling_type", ["vanilla", "inverted_anti_drifting"])
def test_real_geometry_480x832(sampling_type):
    """Released sizes: 480x832 (latent 60x104), 16 latent channels, lws 9, two sections, with a
    reduced-width transformer. The transformer's packed sequence must equal the plan's token count."""
    pipe = fpkit.tiny_pipeline(seed=0, latent_channels=16, transformer_kwargs=dict(rope_axes_dim=(2, 2, 4)))
    seen = []
    hook = pipe.transformer.transformer_blocks[0].register_forward_pre_hook(
        lambda mod, args: seen.append(args[0].shape[1]))
    import numpy as np
    from PIL import Image

    img = Image.fromarray((np.random.RandomState(0).rand(480, 832, 3) * 255).astype("uint8"))
    try:
        run = fpkit.sample(pipe, image=img, prompt="x", height=480, width=832, num_frames=66,
                           latent_window_size=9, num_inference_steps=1, sampling_type=sampling_type,
                           generator=gen(0), output_type="latent")
    finally:
        hook.remove()
    plan = run.trace.plan
    assert plan.num_sections == 2 and plan.latent_size == (60, 104)
    assert run.latents.shape == (1, 16, 19, 60, 104)
    assert seen == [s.total_tokens for s in plan.sections]
    assert plan.sections[0].tokens() == {"history_4x": 4 * 8 * 13, "history_2x": 15 * 26, "clean": 2 * 1560,
                                         "noisy": 9 * 1560}
    assert run.trace.sections[0].schedule.shift == pytest.approx(7.0)  # the ln 7 cap at released sizes
