"""The toy codec: a linear "VAE" (4x4 pixel patches -> PCA -> 16 channels) with the
interface HunyuanVideoFramepackPipeline uses: `encode(x).latent_dist.sample(generator)`,
`decode(z, return_dict=False)[0]`, `config.scaling_factor`, `spatial_compression_ratio`,
`temporal_compression_ratio`. Temporal compression 1: one latent frame per pixel frame.

Why PCA: the probe measured 34.1 dB at 16 channels on a harder world, it fits in a second, it is
exact to invert on its own span and has no weights to train.

Channel scales (`whitening`): 1 scales every channel to unit variance (every organism up to v3), so
the three patch-mean channels (93% of the pixel variance) and the thirteen edge-detail channels
(7%, the last seven 0.1-0.2% each, amplified up to 20x) weigh the same in the loss and are destroyed
by the same noise level. 0 keeps PCA's own variances under one global scale (mean channel variance
1, like a VAE's scaling_factor): coarse content dominates the loss and survives noise longest, so
generation runs coarse to fine as in pixel diffusion. Between: variances eigval ** (1 - whitening).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config


class PointDistribution:
    """A deterministic 'latent_dist': sample() and mode() both return the encoding (the generator
    is accepted and left untouched)."""

    def __init__(self, mean: torch.Tensor):
        self.mean = mean

    def sample(self, generator=None) -> torch.Tensor:
        return self.mean

    def mode(self) -> torch.Tensor:
        return self.mean


@dataclass
class EncoderOutput:
    latent_dist: PointDistribution


def check_whitening(value, name: str) -> None:
    """Raise unless `value` is a number in [0, 1] (the codec's channel-scale exponent)."""
    if not (isinstance(value, (int, float)) and 0 <= value <= 1):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")


class PatchPCACodec(ModelMixin, ConfigMixin):
    """(B, 3, T, H, W) in [-1, 1] <-> (B, C, T, H/p, W/p), C = `latent_channels` PCA components of
    the p x p x 3 patches; channel variances eigval ** (1 - whitening), mean 1 over the fitting frames."""

    @register_to_config
    def __init__(self, patch_size: int = 4, latent_channels: int = 16, in_channels: int = 3,
                 scaling_factor: float = 1.0, whitening: float = 1.0):
        super().__init__()
        check_whitening(whitening, "PatchPCACodec whitening")
        d = in_channels * patch_size * patch_size
        # Parameters (frozen) rather than buffers so ModelMixin.dtype / device see them.
        self.mean = torch.nn.Parameter(torch.zeros(d), requires_grad=False)  # (d,)
        self.components = torch.nn.Parameter(torch.eye(latent_channels, d), requires_grad=False)  # (C, d)
        self.scale = torch.nn.Parameter(torch.ones(latent_channels), requires_grad=False)  # (C,)

    @property
    def spatial_compression_ratio(self) -> int:
        return self.config.patch_size

    @property
    def temporal_compression_ratio(self) -> int:
        return 1

    def _patches(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        b, c, t, h, w = x.shape  # (B, 3, T, H, W)
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        patches = F.pixel_unshuffle(frames, self.config.patch_size)  # (BT, d, h', w')
        return patches.permute(0, 2, 3, 1), (b, t)  # (BT, h', w', d)

    def encode(self, x: torch.Tensor, return_dict: bool = True):
        patches, (b, t) = self._patches(x.to(self.mean.dtype))
        z = (patches - self.mean) @ self.components.T / self.scale  # (BT, h', w', C)
        z = z.permute(0, 3, 1, 2)
        z = z.reshape(b, t, *z.shape[1:]).permute(0, 2, 1, 3, 4).contiguous()  # (B, C, T, h', w')
        out = EncoderOutput(PointDistribution(z))
        return out if return_dict else (out.latent_dist,)

    def decode(self, z: torch.Tensor, return_dict: bool = True):
        b, c, t, h, w = z.shape
        z = z.to(self.mean.dtype).permute(0, 2, 3, 4, 1).reshape(b * t, h, w, c)
        patches = (z * self.scale) @ self.components + self.mean  # (BT, h, w, d)
        frames = F.pixel_shuffle(patches.permute(0, 3, 1, 2), self.config.patch_size)  # (BT, 3, H, W)
        frames = frames.reshape(b, t, *frames.shape[1:]).permute(0, 2, 1, 3, 4).clamp(-1, 1)
        return (frames,) if not return_dict else {"sample": frames}

    @torch.no_grad()
    def fit(self, videos: torch.Tensor) -> "PatchPCACodec":
        """Fit mean, principal components and channel scales on (B, 3, T, H, W) videos in [-1, 1]."""
        patches, _ = self._patches(videos.float())
        data = patches.reshape(-1, patches.shape[-1]).double()  # (N, d)
        mean = data.mean(0)
        cov = (data - mean).T @ (data - mean) / data.shape[0]
        eigvals, eigvecs = torch.linalg.eigh(cov)  # ascending
        order = torch.argsort(eigvals, descending=True)[: self.config.latent_channels]
        comps = eigvecs[:, order].T  # (C, d)
        comps = comps * torch.sign(comps.sum(1, keepdim=True) + 1e-12)  # deterministic sign
        self.mean.copy_(mean.float())
        self.components.copy_(comps.float())
        eig = eigvals[order].clamp_min(1e-12)
        kept = eig ** (1 - self.config.whitening)  # each channel's variance, up to the global factor
        self.scale.copy_((eig / kept * kept.mean()).sqrt().float())  # var(z_c) = kept_c / mean(kept)
        return self


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0) -> float:
    """PSNR in dB between two tensors with values spanning `data_range` ([-1, 1] -> 2)."""
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(data_range ** 2 / mse)).item()


def fit_codec(num_clips: int = 64, num_frames: int = 8, seed: int = 0, spec=None, latent_channels: int = 16,
              patch_size: int = 4, whitening: float = 1.0) -> PatchPCACodec:
    """Fit the codec on `num_clips` world clips drawn from `seed` (training seeds)."""
    import numpy as np

    from .world import EVAL_SEED_OFFSET, render_clips

    seeds = np.random.default_rng(seed).integers(0, EVAL_SEED_OFFSET, num_clips)
    codec = PatchPCACodec(patch_size=patch_size, latent_channels=latent_channels, whitening=whitening)
    return codec.fit(render_clips(seeds, num_frames, spec))


def round_trip_psnr(codec: PatchPCACodec, videos: torch.Tensor) -> float:
    """PSNR (dB, on [-1, 1]) of decode(encode(videos))."""
    with torch.no_grad():
        z = codec.encode(videos).latent_dist.mode() * codec.config.scaling_factor
        recon = codec.decode(z / codec.config.scaling_factor, return_dict=False)[0]
    return psnr(recon, videos.clamp(-1, 1))
