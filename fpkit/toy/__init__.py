"""The toy FramePack model organism: a synthetic sprite world, a PCA codec with the VAE interface,
and tiny HunyuanVideoFramepackTransformer3DModel checkpoints trained on CPU, assembled into the real
HunyuanVideoFramepackPipeline so `fpkit.sample` drives them exactly as it drives the released models.

    pipe = fpkit.toy.load_organism("f1")                 # or "inverted", "f1+D"; see available()
    image = fpkit.toy.world.start_image(fpkit.toy.world.EVAL_SEED_OFFSET)
    run = fpkit.sample(pipe, image=image, prompt=fpkit.toy.PROMPT, height=64, width=64, num_frames=48,
                       latent_window_size=4, num_inference_steps=12, sampling_type="vanilla")
    fpkit.toy.compare_to_world(run.video, seed=fpkit.toy.world.EVAL_SEED_OFFSET)   # likeness measures
    fpkit.toy.drift(run.video, seed=fpkit.toy.world.EVAL_SEED_OFFSET)              # start-vs-end drift
"""

from . import world
from .codec import PatchPCACodec, fit_codec, round_trip_psnr
from .evaluate import (NOISE, TARGETS, ablation_table, compare_to_world, drift, drift_table, evaluate_organisms,
                       generate, likeness, likeness_table, noise_seed_for, paper_pattern)
from .organism import PROMPT, available, build_pipeline, load_organism, read_config, read_meta
from .train import VARIANTS, Variant  # the training function is fpkit.toy.train.train

__all__ = [
    "NOISE",
    "PROMPT",
    "TARGETS",
    "VARIANTS",
    "PatchPCACodec",
    "Variant",
    "available",
    "build_pipeline",
    "compare_to_world",
    "drift",
    "drift_table",
    "evaluate_organisms",
    "fit_codec",

    "generate",
    "ablation_table",
    "likeness",
    "likeness_table",
    "noise_seed_for",
    "paper_pattern",
    "load_organism",
    "read_config",
    "read_meta",
    "round_trip_psnr",
    "train",
    "world",
]
