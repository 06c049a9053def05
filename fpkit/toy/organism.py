"""Assemble, save and load the toy organism: the real HunyuanVideoFramepackPipeline with a tiny
HunyuanVideoFramepackTransformer3DModel, the PCA codec as its VAE, and fpkit's tiny frozen
text/image encoders (random weights, saved with every checkpoint so loading never depends on RNG).

A checkpoint folder holds: transformer.safetensors (EMA weights), codec.safetensors,
encoders.safetensors, config.json (transformer / codec / world / variant configs) and meta.json
(command, seed, steps, wall time, losses).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..atomic import atomic_write
from ..pipelines import tiny_components
from .codec import PatchPCACodec

# The organism's prompt. Training draws from PROMPT_BANK (this prompt, the empty prompt and a few
# others) so the model learns to ignore the random-weight text features: any prompt samples alike.
PROMPT = "coloured sprites bounce over a soft background"
PROMPT_BANK = (PROMPT, "", "a video", "sprites", "a red disc and a blue square move", "bouncing shapes",
               "toy world", "motion")
# Word-level vocabulary of the organism's Llama tokenizer; other words map to <unk>. Word-level (not
# fpkit's tiny character tokenizer) because HunyuanVideo's prompt template is ~500 characters: per
# character, every prompt would be cut to 256 tokens of template text; per word the template ends at
# token ~102 of which the pipeline crops 95, leaving ~10-20 text tokens (1.5x cheaper training steps).
VOCAB = ("<unk> <s> </s> a an the video of and over on in with red green blue yellow orange purple pink "
         "cyan white black grey gray disc discs circle square squares ball sprite sprites shape shapes bounce "
         "bounces bouncing move moves moving slow fast soft background coloured colored toy world motion"
         " left right up down").split()  # appended (stop 28) so earlier ids stay put
CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"

# 4 heads x 32 dims, 2 dual + 2 single blocks (2.6M parameters; the probe's 4 x 24 made blobs, and the
# 8x8 latent grid leaves room for width: 0.12 s per batch-8 step on one busy core); rope axes
# (t, h, w) sum to the head dim. guidance_embeds=False: the guidance value the pipeline passes is ignored, so any
# guidance_scale samples the same (the organism is not guidance-distilled).
TRANSFORMER_CONFIG = dict(
    in_channels=16, out_channels=16, num_attention_heads=4, attention_head_dim=32, num_layers=2,
    num_single_layers=2, num_refiner_layers=1, mlp_ratio=4.0, patch_size=2, patch_size_t=1,
    qk_norm="rms_norm", guidance_embeds=False, text_embed_dim=16, pooled_projection_dim=8,
    rope_theta=256.0, rope_axes_dim=(8, 12, 12), image_condition_type=None, has_image_proj=True,
    image_proj_dim=8, has_clean_x_embedder=True)

ENCODERS = ("text_encoder", "text_encoder_2", "image_encoder")


def toy_tokenizer():
    """Word-level LlamaTokenizer stand-in (PreTrainedTokenizerFast), built offline from VOCAB."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    out = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                  pad_token="</s>")
    out.padding_side = "right"
    return out


def build_pipeline(codec: PatchPCACodec, transformer_config: dict | None = None, seed: int = 0):
    """A HunyuanVideoFramepackPipeline of the real classes: tiny encoders + `codec` as the VAE +
    a freshly initialised tiny transformer (seeded), on the CPU, progress bar off."""
    from diffusers import HunyuanVideoFramepackPipeline

    config = dict(TRANSFORMER_CONFIG, **(transformer_config or {}))
    config["in_channels"] = config["out_channels"] = codec.config.latent_channels
    components = tiny_components(seed=seed, latent_channels=codec.config.latent_channels,
                                 transformer_kwargs=config)
    components["vae"] = codec
    components["tokenizer"] = toy_tokenizer()
    pipe = HunyuanVideoFramepackPipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    for name in ENCODERS:
        getattr(pipe, name).requires_grad_(False).eval()
    return pipe


def _atomic_json(path: Path, data: dict) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True))


def _atomic_safetensors(path: Path, tensors: dict) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp))


def save_organism(out_dir, pipe, transformer_state: dict, config: dict, meta: dict,
                  dtype: torch.dtype = torch.float16) -> Path:
    """Write a checkpoint folder. Transformer weights are stored in `dtype` (fp16 halves the size;
    they are cast back to float32 on load)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_safetensors(out / "transformer.safetensors", {k: v.to(dtype) for k, v in transformer_state.items()})
    _atomic_safetensors(out / "codec.safetensors", pipe.vae.state_dict())
    encoders = {f"{name}.{k}": v for name in ENCODERS for k, v in getattr(pipe, name).state_dict().items()}
    _atomic_safetensors(out / "encoders.safetensors", encoders)
    _atomic_json(out / "config.json", config)
    _atomic_json(out / "meta.json", meta)
    return out


def available(root=None) -> list[str]:
    """Variants with a complete checkpoint folder under `root` (default: the shipped checkpoints)."""
    root = Path(root) if root is not None else CHECKPOINT_DIR
    if not root.is_dir():
        return []
    need = ("transformer.safetensors", "codec.safetensors", "encoders.safetensors", "config.json")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and all((p / f).exists() for f in need))


def _folder(variant_or_path) -> Path:
    path = Path(str(variant_or_path))
    if path.is_dir():
        return path
    folder = CHECKPOINT_DIR / str(variant_or_path)
    if not folder.is_dir():
        raise ValueError(f"no toy checkpoint {variant_or_path!r}; shipped: {available()} "
                         f"(or give a folder written by `fpkit toy train --out DIR`)")
    return folder


def read_config(variant_or_path="f1") -> dict:
    return json.loads((_folder(variant_or_path) / "config.json").read_text())


def read_meta(variant_or_path="f1") -> dict:
    path = _folder(variant_or_path) / "meta.json"
    return json.loads(path.read_text()) if path.exists() else {}


def weights_digest(path) -> str:
    """First 12 hex digits of a transformer file's SHA-256: which weights an evaluation sampled.
    Cached per (path, size, mtime), so loading the same organism again does not re-read the file."""
    stat = Path(path).stat()
    return _sha256_prefix(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_prefix(path: str, size: int, mtime_ns: int) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def load_organism(variant: str = "f1", device: str = "cpu", weights=None):
    """The trained toy organism as a HunyuanVideoFramepackPipeline (float32, progress bar off).

    `variant`: a shipped name (see `available()`) or a checkpoint folder. The pipeline carries
    `fpkit_sampling_type` (the strategy it was trained for), `fpkit_history` (its HistorySpec: pass
    it to fpkit.sample), `fpkit_toy` (its config), `fpkit_prompt` (the training prompt) and
    `fpkit_weights` (`weights_digest` of the transformer file loaded).
    `weights`: another transformer .safetensors of the same run (e.g. snapshots/step_0004000.safetensors)."""
    folder = _folder(variant)
    config = json.loads((folder / "config.json").read_text())
    codec = PatchPCACodec(**config["codec"])
    codec.load_state_dict(load_file(str(folder / "codec.safetensors")))
    pipe = build_pipeline(codec, config["transformer"])
    weights = Path(weights or folder / "transformer.safetensors")
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    pipe.transformer.load_state_dict(state)
    encoders = load_file(str(folder / "encoders.safetensors"))
    for name in ENCODERS:
        prefix = name + "."
        getattr(pipe, name).load_state_dict({k[len(prefix):]: v for k, v in encoders.items() if k.startswith(prefix)})
    pipe.transformer.eval()
    from ..planning import HistorySpec

    pipe.fpkit_sampling_type = config["variant"]["strategy"]
    # pass as fpkit.sample(..., history=pipe.fpkit_history): fpkit.sample defaults to 1/2/16, and a
    # variant trained with other sizes (f1-h1) samples garbage with the wrong ones
    pipe.fpkit_history = HistorySpec(**config["variant"]["history"])
    pipe.fpkit_toy = config
    pipe.fpkit_prompt = PROMPT
    pipe.fpkit_weights = weights_digest(weights)
    return pipe.to(device)
