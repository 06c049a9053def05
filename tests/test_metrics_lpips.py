"""LPIPS runs only on a cached AlexNet backbone: absent weights give NaN with the reason (or raise in
strict mode), and nothing is ever downloaded."""

import urllib.request

import numpy as np
import pytest
import torch

import fpkit.metrics as fm


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Point torch's hub cache at an empty folder and make every download path fail loudly."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError(f"download attempted: {args}")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return tmp_path, calls


def video(n=3):
    rng = np.random.default_rng(0)
    frames = rng.random((n, 3, 32, 40)).astype(np.float32)
    frames[1] = frames[0]
    return torch.from_numpy(frames)


def test_missing_weights_give_nan_with_reason_and_no_download(no_network):
    cache, calls = no_network
    reason = fm.lpips_unavailable()
    assert reason.startswith("unavailable: weights not cached") and str(cache) in reason
    table = fm.compute(video(), metrics=["lpips_first", "lpips_prev", "flicker"])
    lp = table[table.metric.str.startswith("lpips")]
    assert lp.value.isna().all() and lp.reason.str.startswith("unavailable: weights not cached").all()
    assert table[(table.metric == "flicker") & (table.frame > 0)].value.notna().all()
    with pytest.raises(fm.MetricUnavailable, match="weights not cached"):
        fm.compute(video(), metrics=["lpips_first"], strict=True)
    assert calls == []


def test_cached_backbone_is_loaded_not_downloaded(no_network):
    import torchvision

    cache, calls = no_network
    torch.manual_seed(0)
    features = torchvision.models.alexnet(weights=None).features.state_dict()
    path = cache / "checkpoints" / fm.perceptual.ALEXNET_FILE
    path.parent.mkdir()
    torch.save({f"features.{k}": v for k, v in features.items()}, path)
    assert fm.lpips_unavailable() is None and fm.lpips_weights_path() == path

    table = fm.compute(video(), metrics=["lpips_first", "lpips_prev"], strict=True)
    w = table.pivot(index="frame", columns="metric", values="value")
    assert w["lpips_first"][0] == pytest.approx(0, abs=1e-6) and w["lpips_first"][1] == pytest.approx(0, abs=1e-6)
    assert w["lpips_first"][2] > 0 and w["lpips_prev"][2] > 0
    assert w["lpips_prev"][1] == pytest.approx(0, abs=1e-6) and np.isnan(w["lpips_prev"][0])
    model = fm.perceptual.load_lpips()
    assert torch.equal(model.net.slice1[0].weight, features["0.weight"])  # the file's weights, not random ones
    assert torch.equal(getattr(model.net.slice5, "10").bias, features["10.bias"])
    assert calls == []

    torch.save({"features.0.weight": features["0.weight"]}, path)  # damaged: most layers missing
    with pytest.raises(fm.MetricUnavailable, match="lacks features"):
        fm.compute(video(), metrics=["lpips_first"], strict=True)
    table = fm.compute(video(), metrics=["lpips_first", "flicker"])
    lp = table[table.metric == "lpips_first"]
    assert lp.value.isna().all() and lp.reason.str.contains("lacks features").all()
    assert table[(table.metric == "flicker") & (table.frame > 0)].value.notna().all()
