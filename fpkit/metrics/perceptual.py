"""LPIPS (package `lpips`, AlexNet) to the first and previous frame, only with real weights.

`lpips` ships its linear heads; the AlexNet backbone is torchvision's ImageNet checkpoint, which
lives in torchvision's download cache when the user has ever fetched it. fpkit only looks there: it
never downloads (offline machines hang on the attempt) and never runs a random backbone. Both files
are checked against their known sha256 before use. Absent or mismatched weights make the metric
unavailable: NaN rows with the reason, or MetricUnavailable in strict mode.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np

from .frames import FrameBatch
from .registry import INF, MetricUnavailable, register

# torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url's file name; the suffix is the first 8 hex
# digits of the file's sha256, which torchvision checks on download (check_hash=True), and so do we.
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
ALEXNET_SHA256_PREFIX = "7be5be79"
# sha256 of lpips 0.1.4's weights/v0.1/alex.pth (6009 bytes: the five 1x1 linear heads on AlexNet's
# feature layers), computed from the installed package. lpips loads it with strict=False: a file
# lacking keys leaves random heads and one with other values runs, both silently; wrong shapes
# raise a bare RuntimeError. The hash turns all three into "unavailable: ... hash mismatch".
LPIPS_HEAD_SHA256 = "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"
LPIPS_BATCH = 8  # frames per forward pass: bounds memory at 480x832
# AlexNet's stride-4 11x11 conv (pad 2) then two 3x3 stride-2 max pools: 31 px -> 7 -> 3 -> 1
LPIPS_MIN_SIDE = 31
_MODELS: dict[tuple, object] = {}
_HASH_CHECKS: dict[tuple, str] = {}  # file -> "" or why it failed: hashed once, not per chunk


def lpips_weights_path() -> Path:
    """Where torchvision caches the AlexNet checkpoint (honours TORCH_HOME / torch.hub.set_dir)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE


def lpips_head_path() -> Path:
    """The linear-head weights the `lpips` package ships (weights/v0.1/alex.pth beside its code)."""
    import lpips

    return Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"


def lpips_unavailable() -> str | None:
    """None when LPIPS can run here, else why not. Looks at the file system only (hashes are
    checked when the model loads, see load_lpips)."""
    path = lpips_weights_path()
    if not path.is_file():
        return (f"unavailable: weights not cached (AlexNet backbone expected at {path}; "
                "fpkit does not download it)")
    try:
        import lpips  # noqa: F401
    except ImportError:
        return "unavailable: package 'lpips' is not installed"
    head = lpips_head_path()
    if not head.is_file():
        return f"unavailable: the lpips package lacks its linear-head weights {head}"
    return None


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size  # a replaced file is checked and loaded afresh


def _check_hash(path: Path, expected: str, what: str) -> None:
    """MetricUnavailable unless sha256(path) starts with `expected` (a full digest or a prefix)."""
    key = (*_file_key(path), expected)
    if key not in _HASH_CHECKS:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        got = digest.hexdigest()
        _HASH_CHECKS[key] = "" if got.startswith(expected) else (
            f"unavailable: {what} {path} hash mismatch (sha256 {got[:16]}..., expected "
            f"{expected[:16]}{'...' if len(expected) > 16 else ''}): not the official file")
    if _HASH_CHECKS[key]:
        raise MetricUnavailable("lpips", _HASH_CHECKS[key])


def load_lpips():
    """The lpips.LPIPS(net='alex') model with the cached backbone loaded, cached per file."""
    import torch

    reason = lpips_unavailable()
    if reason is not None:
        raise MetricUnavailable("lpips", reason)
    path, head = lpips_weights_path(), lpips_head_path()
    _check_hash(head, LPIPS_HEAD_SHA256, "LPIPS linear-head file")  # cached: free after the first call
    _check_hash(path, ALEXNET_SHA256_PREFIX, "AlexNet backbone")
    key = (_file_key(path), _file_key(head))
    if key in _MODELS:
        return _MODELS[key]
    import lpips

    # pnet_rand=True builds the backbone without asking torchvision for weights (no download);
    # every backbone parameter is then overwritten from the cached file, or we refuse.
    with warnings.catch_warnings():  # torchvision's "pretrained is deprecated" notice
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False, model_path=str(head))
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
                   default=False, available=lpips_unavailable, min_size=(LPIPS_MIN_SIDE, LPIPS_MIN_SIDE),
                   min_size_why="AlexNet's stride-4 conv and two stride-2 max pools leave no pixel below it")


@register("lpips_first", reference="first", description="LPIPS (AlexNet) to the first frame", **_LPIPS_META)
def lpips_first(b: FrameBatch) -> np.ndarray:
    return _distances(b.cur("rgb"), b.anchor.rgb[:1])


@register("lpips_prev", reference="previous", description="LPIPS (AlexNet) to the previous frame",
          **{**_LPIPS_META, "family": "stability"})
def lpips_prev(b: FrameBatch) -> np.ndarray:
    vals = _distances(b.rgb[1:], b.rgb[:-1])
    return vals if b.has_prev else np.concatenate([[np.nan], vals])
