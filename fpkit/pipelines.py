"""Pipelines: the released checkpoints, `load_pipeline` with memory options, and tiny offline
components of the real diffusers/transformers classes for tests and demos."""

from __future__ import annotations

import string
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

BASE_REPO = "hunyuanvideo-community/HunyuanVideo"  # text encoders, tokenizers, VAE, scheduler
SIGLIP_REPO = "lllyasviel/flux_redux_bfl"  # image_encoder / feature_extractor subfolders


@dataclass(frozen=True)
class Checkpoint:
    name: str
    repo: str
    sampling_type: str  # the sampling type it was trained for
    description: str


CHECKPOINTS: dict[str, Checkpoint] = {
    c.name: c
    for c in (
        Checkpoint("framepack-i2v", "lllyasviel/FramePackI2V_HY", "inverted_anti_drifting",
                   "original FramePack: bi-directional context (start anchor + future); supports a last image"),
        Checkpoint("framepack-f1", "lllyasviel/FramePack_F1_I2V_HY_20250503", "vanilla",
                   "FramePack-F1: forward context (start anchor + past)"),
    )
}
OFFLOAD_MODES = (None, "model", "sequential", "group")


def checkpoint_of(pipe) -> Checkpoint | None:
    """The registered checkpoint a pipeline's transformer came from, if any (by repo id, name or a
    `fpkit_checkpoint` attribute)."""
    tagged = getattr(pipe, "fpkit_checkpoint", None)
    if tagged in CHECKPOINTS:
        return CHECKPOINTS[tagged]
    source = str(getattr(getattr(pipe, "transformer", None), "config", {}).get("_name_or_path", "") or "")
    for ckpt in CHECKPOINTS.values():
        if ckpt.repo in source or source.rstrip("/").endswith(ckpt.repo.split("/")[-1]):
            return ckpt
    return None


def expected_sampling_type(pipe) -> str | None:
    ckpt = checkpoint_of(pipe)
    return ckpt.sampling_type if ckpt else getattr(pipe, "fpkit_sampling_type", None)


def _check_load_args(name_or_path, dtype, offload, device):
    if offload not in OFFLOAD_MODES:
        raise ValueError(f"offload must be one of {OFFLOAD_MODES}, got {offload!r}")
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"dtype must be a torch.dtype, got {dtype!r}")
    is_dir = Path(str(name_or_path)).is_dir()
    if not is_dir and name_or_path not in CHECKPOINTS and name_or_path not in {c.repo for c in CHECKPOINTS.values()}:
        raise ValueError(
            f"unknown pipeline {name_or_path!r}: give a registered name {sorted(CHECKPOINTS)}, their repo ids, "
            "or a local folder written by `pipe.save_pretrained`"
        )
    if offload is not None and not torch.cuda.is_available() and device in (None, "cuda"):
        raise ValueError(f"offload={offload!r} moves weights between CPU and an accelerator; no CUDA device here")


def load_pipeline(name_or_path: str, dtype: torch.dtype = torch.bfloat16, offload: str | None = None,
                  vae_tiling: bool = True, device: str | None = None, **from_pretrained_kwargs):
    """Load a HunyuanVideoFramepackPipeline.

    name_or_path: "framepack-i2v" / "framepack-f1" (or their repo ids) assemble the transformer with
    the shared HunyuanVideo and SigLIP parts from the Hub; a local folder loads a saved pipeline.
    offload: None (move everything to `device`, default the accelerator if there is one), "model" (model CPU offload), "sequential"
    (sequential CPU offload) or "group" (diffusers group offloading, leaf level with CUDA streams).
    """
    _check_load_args(name_or_path, dtype, offload, device)
    from diffusers import HunyuanVideoFramepackPipeline, HunyuanVideoFramepackTransformer3DModel
    from transformers import SiglipImageProcessor, SiglipVisionModel

    if Path(str(name_or_path)).is_dir():
        pipe = HunyuanVideoFramepackPipeline.from_pretrained(str(name_or_path), torch_dtype=dtype,
                                                             **from_pretrained_kwargs)
    else:
        ckpt = CHECKPOINTS.get(name_or_path) or next(c for c in CHECKPOINTS.values() if c.repo == name_or_path)
        transformer = HunyuanVideoFramepackTransformer3DModel.from_pretrained(ckpt.repo, torch_dtype=dtype)
        feature_extractor = SiglipImageProcessor.from_pretrained(SIGLIP_REPO, subfolder="feature_extractor")
        image_encoder = SiglipVisionModel.from_pretrained(SIGLIP_REPO, subfolder="image_encoder", torch_dtype=dtype)
        pipe = HunyuanVideoFramepackPipeline.from_pretrained(
            BASE_REPO, transformer=transformer, feature_extractor=feature_extractor, image_encoder=image_encoder,
            torch_dtype=dtype, **from_pretrained_kwargs)
        pipe.fpkit_checkpoint = ckpt.name
    if vae_tiling:
        pipe.vae.enable_tiling()
    apply_offload(pipe, offload, device)
    return pipe


def default_device() -> str:
    """The accelerator when there is one (a 13B pipeline left on the CPU runs for days), else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def apply_offload(pipe, offload: str | None, device: str | None = None):
    """Apply one of the memory options to a loaded pipeline."""
    if offload not in OFFLOAD_MODES:
        raise ValueError(f"offload must be one of {OFFLOAD_MODES}, got {offload!r}")
    if offload is None:
        device = device or default_device()
        if device != "cpu":
            pipe.to(device)
    elif offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        onload = torch.device(device or "cuda")
        pipe.enable_group_offload(onload_device=onload, offload_device=torch.device("cpu"),
                                  offload_type="leaf_level", use_stream=onload.type == "cuda")
    return pipe


def execution_device(pipe) -> torch.device:
    """Where the pipeline runs its models: its execution device under model / group offload (diffusers
    offers no public accessor; `DiffusionPipeline._execution_device` is what its own __call__ uses),
    else the device its weights are on."""
    device = getattr(pipe, "_execution_device", None)
    return torch.device(device) if device is not None else torch.device(pipe.device)


def warn_if_mismatched(pipe, sampling_type: str) -> None:
    expected = expected_sampling_type(pipe)
    if expected is not None and sampling_type != expected and sampling_type in ("vanilla", "inverted_anti_drifting"):
        warnings.warn(
            f"this pipeline's transformer was trained for sampling_type={expected!r} but the run uses "
            f"{sampling_type!r}: quality degrades silently with the wrong layout", UserWarning, stacklevel=3)


# ---------------------------------------------------------------------------------------------
# Tiny offline components: the real classes in small configs, tokenizers built locally.

_CHARS = string.ascii_lowercase + string.ascii_uppercase + string.digits + " .,:;!?'\"-_|<>{}()\n"


def _tiny_tokenizers():
    from transformers import CLIPTokenizer, LlamaTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "\u2581": 3}
    for ch in _CHARS:
        vocab.setdefault(ch, len(vocab))
    llama = LlamaTokenizerFast(vocab=vocab, merges=[], unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    llama.pad_token = llama.eos_token
    llama.padding_side = "right"  # like the released tokenizer; the transformer crops padding at the end
    clip_vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in _CHARS.lower():
        clip_vocab.setdefault(ch, len(clip_vocab))
        clip_vocab.setdefault(ch + "</w>", len(clip_vocab))
    clip = CLIPTokenizer(vocab=clip_vocab, merges=[])
    return llama, clip


def tiny_components(seed: int = 0, latent_channels: int = 4, transformer_kwargs: dict | None = None,
                    vae_kwargs: dict | None = None) -> dict:
    """Random-weight components for HunyuanVideoFramepackPipeline, built fully offline."""
    from diffusers import (
        AutoencoderKLHunyuanVideo,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoFramepackTransformer3DModel,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        LlamaConfig,
        LlamaModel,
        SiglipImageProcessor,
        SiglipVisionConfig,
        SiglipVisionModel,
    )

    torch.manual_seed(seed)
    tokenizer, tokenizer_2 = _tiny_tokenizers()
    text_dim, pooled_dim, image_dim = 16, 8, 8
    text_encoder = LlamaModel(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=text_dim, intermediate_size=32, num_hidden_layers=3,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512, pad_token_id=2))
    text_encoder_2 = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer_2), hidden_size=pooled_dim, intermediate_size=16, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, projection_dim=pooled_dim,
        bos_token_id=0, eos_token_id=1, pad_token_id=1))
    image_encoder = SiglipVisionModel(SiglipVisionConfig(
        hidden_size=image_dim, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
        image_size=32, patch_size=8))
    feature_extractor = SiglipImageProcessor(size={"height": 32, "width": 32}, do_resize=True)
    tkw = dict(
        in_channels=latent_channels, out_channels=latent_channels, num_attention_heads=2, attention_head_dim=8,
        num_layers=1, num_single_layers=1, num_refiner_layers=1, patch_size=2, patch_size_t=1,
        guidance_embeds=True, text_embed_dim=text_dim, pooled_projection_dim=pooled_dim, rope_axes_dim=(2, 2, 4),
        image_condition_type=None, has_image_proj=True, image_proj_dim=image_dim, has_clean_x_embedder=True)
    tkw.update(transformer_kwargs or {})
    transformer = HunyuanVideoFramepackTransformer3DModel(**tkw)
    vkw = dict(
        in_channels=3, out_channels=3, latent_channels=latent_channels,
        down_block_types=("HunyuanVideoDownBlock3D",) * 4, up_block_types=("HunyuanVideoUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, act_fn="silu", norm_num_groups=4,
        scaling_factor=0.476986, spatial_compression_ratio=8, temporal_compression_ratio=4,
        mid_block_add_attention=True)
    vkw.update(vae_kwargs or {})
    vae = AutoencoderKLHunyuanVideo(**vkw)
    # The released scheduler config: fixed shift 7 is overridden per section by the dynamic rule.
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0, use_dynamic_shifting=True)
    return dict(
        text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer, vae=vae, scheduler=scheduler,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, image_encoder=image_encoder,
        feature_extractor=feature_extractor)


def tiny_pipeline(seed: int = 0, sampling_type: str | None = None, **kwargs):
    """A tiny random HunyuanVideoFramepackPipeline of the real classes, built offline on the CPU.
    Use heights/widths that are multiples of 16 (e.g. 32 x 48)."""
    from diffusers import HunyuanVideoFramepackPipeline

    pipe = HunyuanVideoFramepackPipeline(**tiny_components(seed, **kwargs))
    pipe.set_progress_bar_config(disable=True)
    if sampling_type is not None:
        pipe.fpkit_sampling_type = sampling_type
    return pipe
