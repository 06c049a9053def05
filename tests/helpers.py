"""Shared test helpers (importable as `helpers`: pytest puts tests/ on sys.path)."""

import numpy as np
import torch
from PIL import Image


def make_image(seed: int, height: int = 32, width: int = 48) -> Image.Image:
    rng = np.random.RandomState(seed)
    return Image.fromarray((rng.rand(height, width, 3) * 255).astype("uint8"))


def base_kwargs(img, **overrides):
    kwargs = dict(image=img, prompt="a red ball bounces", height=32, width=48, num_frames=17,
                  latent_window_size=3, num_inference_steps=2, guidance_scale=6.0, sampling_type="vanilla")
    kwargs.update(overrides)
    return kwargs


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
