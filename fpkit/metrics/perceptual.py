"""LPIPS (package `lpips`, AlexNet) to the first and previous frame, only with real weights.

`lpips` ships its linear heads; the AlexNet backbone is torchvision's ImageNet checkpoint, which
lives in torchvision's download cache when the user has ever fetched it. fpkit only looks there: it
never downloads (offline machines hang on the attempt) and never runs a random backbone. Absent
weights make the metric unavailable: NaN rows with the reason, or MetricUnavailable in strict mode.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .frames import FrameBatch
from .registry import INF, MetricUnavailable, register

# torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url's file name (hash-suffixed, so stable).
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
LPIPS_BATCH = 8  # frames per forward pass: bounds memory at 480x832
_MODELS: dict[tuple[str, int, int], object] = {}


def lpips_weights_path() -> Path:
    """Where torchvision caches the AlexNet checkpoint (honours TORCH_HOME / torch.hub.set_dir)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE


def lpips_unavailable() -> str | None:
    """None when LPIPS can run here, else why not. Looks at the file system only."""
    path = lpips_weights_path()
    if not path.is_file():
        return (f"unavailable: weights not cached (AlexNet backbone expected at {path}; "
                "fpkit does not download it)")
    try:
        import lpips  # noqa: F401
    except ImportError:
        return "unavailable: package 'lpips' is not installed"
    return None


def load_lpips():
    """The lpips.LPIPS(net='alex') model with the cached backbone loaded, cached per file."""
    import torch

    reason = lpips_unavailable()
    if reason is not None:
        raise MetricUnavailable("lpips", reason)
    path = lpips_weights_path()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)  # a replaced file is loaded afresh
    if key in _MODELS:
        return _MODELS[key]
    import lpips

    # pnet_rand=True builds the backbone without asking torchvision for weights (no download);
    # every backbone parameter is then overwritten from the cached file, or we refuse.
    with warnings.catch_warnings():  # torchvision's "pretrained is deprecated" notice
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated download, a wrong file
        raise MetricUnavailable("lpips", f"unavailable: cannot read weights {path}: {err}") from err
    features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    with torch.no_grad():
        for name, param in model.net.named_parameters():
            key_in_file = name.split(".", 1)[1]  # "slice1.0.weight" -> "0.weight" (torchvision index)
            value = features.get(key_in_file)
            if value is None or value.shape != param.shape:
                raise MetricUnavailable("lpips", f"unavailable: {path} lacks features.{key_in_file} "
                                                 f"of shape {tuple(param.shape)}")
            param.copy_(value)
    model.eval()
    _MODELS[key] = model
    return model


def _distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """LPIPS between frames x[i] and y[i] (y may be one frame, used for all); (n, H, W, 3) float
    [0, 1] -> (n,)."""
    import torch

    if len(y) == 1:
        y = np.broadcast_to(y, x.shape)

    model = load_lpips()
    out = []
    with torch.no_grad():
        for s in range(0, len(x), LPIPS_BATCH):
            a = torch.from_numpy(np.ascontiguousarray(x[s:s + LPIPS_BATCH])).permute(0, 3, 1, 2)
            b = torch.from_numpy(np.ascontiguousarray(y[s:s + LPIPS_BATCH])).permute(0, 3, 1, 2)
            out.append(model(a, b, normalize=True).flatten().double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


_LPIPS_META = dict(kind="frame", family="fidelity", higher_is_better=False, range=(0, INF), needs_weights=True,
                   default=False, available=lpips_unavailable)


@register("lpips_first", reference="first", description="LPIPS (AlexNet) to the first frame", **_LPIPS_META)
def lpips_first(b: FrameBatch) -> np.ndarray:
    return _distances(b.cur("rgb"), b.anchor.rgb[:1])


@register("lpips_prev", reference="previous", description="LPIPS (AlexNet) to the previous frame",
          **{**_LPIPS_META, "family": "stability"})
def lpips_prev(b: FrameBatch) -> np.ndarray:
    vals = _distances(b.rgb[1:], b.rgb[:-1])
    return vals if b.has_prev else np.concatenate([[np.nan], vals])
