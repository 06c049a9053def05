"""LPIPS runs only on a cached AlexNet backbone and the lpips package's linear heads, both checked
against their known sha256: absent or mismatched weights give NaN with the reason (or raise in strict
mode), and nothing is ever downloaded."""

import hashlib
import shutil
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


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def backbone_cache(tmp_path_factory):
    """A hub cache holding a randomly initialised AlexNet feature stack (right keys and shapes) where
    torchvision keeps the real one; made once, it is 244 MB."""
    import torchvision

    cache = tmp_path_factory.mktemp("hub")
    torch.manual_seed(0)
    features = torchvision.models.alexnet(weights=None).features.state_dict()
    path = cache / "checkpoints" / fm.perceptual.ALEXNET_FILE
    path.parent.mkdir()
    torch.save({f"features.{k}": v for k, v in features.items()}, path)
    return cache, path, features


@pytest.fixture
def random_backbone(no_network, backbone_cache, monkeypatch):
    """The random backbone as the cached one, its hash accepted (the real file is not on test machines)."""
    cache, path, features = backbone_cache
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(cache))
    monkeypatch.setattr(fm.perceptual, "ALEXNET_SHA256_PREFIX", sha256(path)[:8])
    return path, features, no_network[1]


def lpips_rows(table, name="lpips_first"):
    return table[table.metric == name]


def test_cached_backbone_is_loaded_not_downloaded(random_backbone):
    path, features, calls = random_backbone
    assert fm.lpips_unavailable() is None and fm.lpips_weights_path() == path

    table = fm.compute(video(), metrics=["lpips_first", "lpips_prev"], strict=True)
    w = table.pivot(index="frame", columns="metric", values="value")
    assert np.isnan(w["lpips_first"][0]) and w["lpips_first"][1] == pytest.approx(0, abs=1e-6)  # 0: the reference
    assert w["lpips_first"][2] > 0 and w["lpips_prev"][2] > 0
    assert w["lpips_prev"][1] == pytest.approx(0, abs=1e-6) and np.isnan(w["lpips_prev"][0])
    model = fm.perceptual.load_lpips()
    assert torch.equal(model.net.slice1[0].weight, features["0.weight"])  # the file's weights, not random ones
    assert torch.equal(getattr(model.net.slice5, "10").bias, features["10.bias"])
    head = torch.load(fm.perceptual.lpips_head_path(), map_location="cpu", weights_only=True)
    assert torch.equal(model.lin0.model[1].weight, head["lin0.model.1.weight"])  # lpips' own heads
    assert calls == []


def test_damaged_backbone_is_refused(no_network, backbone_cache, monkeypatch):
    cache, _ = no_network
    path = cache / "checkpoints" / fm.perceptual.ALEXNET_FILE
    path.parent.mkdir()
    torch.save({"features.0.weight": backbone_cache[2]["0.weight"]}, path)  # damaged: most layers missing
    with pytest.raises(fm.MetricUnavailable, match="AlexNet backbone .* hash mismatch"):
        fm.compute(video(), metrics=["lpips_first"], strict=True)
    monkeypatch.setattr(fm.perceptual, "ALEXNET_SHA256_PREFIX", sha256(path)[:8])  # past the hash: keys checked
    with pytest.raises(fm.MetricUnavailable, match="lacks features"):
        fm.compute(video(), metrics=["lpips_first"], strict=True)
    table = fm.compute(video(), metrics=["lpips_first", "flicker"])
    lp = lpips_rows(table)
    assert lp.value.isna().all() and lp.reason.str.contains("lacks features").all()
    assert table[(table.metric == "flicker") & (table.frame > 0)].value.notna().all()


def test_backbone_with_the_right_keys_but_other_values_fails_its_hash(no_network, backbone_cache, monkeypatch):
    """A random backbone of the right keys and shapes ran silently before hashes were checked."""
    cache, path, _ = backbone_cache
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(cache))
    table = fm.compute(video(), metrics=["lpips_first", "lpips_prev"])
    reason = f"unavailable: AlexNet backbone {path} hash mismatch (sha256 {sha256(path)[:16]}..., expected 7be5be79)"
    for name in ("lpips_first", "lpips_prev"):
        rows = lpips_rows(table, name)
        assert rows.value.isna().all() and rows.reason.str.startswith(reason).all()


def test_pinned_head_hash_is_the_installed_lpips_file():
    assert sha256(fm.perceptual.lpips_head_path()) == fm.perceptual.LPIPS_HEAD_SHA256


@pytest.mark.parametrize("tamper", ["wrong shapes", "other values", "missing keys"])
def test_linear_head_file_with_the_right_keys_fails_its_hash(random_backbone, monkeypatch, tmp_path, tamper):
    official = fm.perceptual.lpips_head_path()
    head = torch.load(official, map_location="cpu", weights_only=True)
    if tamper == "wrong shapes":  # same keys: lpips' strict=False load raised a bare RuntimeError
        head = {k: v[:, : v.shape[1] // 2] for k, v in head.items()}
    elif tamper == "other values":  # same keys and shapes: ran silently
        head = {k: 2 * v for k, v in head.items()}
    else:  # strict=False: random heads, silently
        head = {k: v for k, v in head.items() if k != "lin4.model.1.weight"}
    path = tmp_path / "alex.pth"
    torch.save(head, path)
    monkeypatch.setattr(fm.perceptual, "lpips_head_path", lambda: path)
    table = fm.compute(video(), metrics=["lpips_first", "flicker"])
    lp = lpips_rows(table)
    assert lp.value.isna().all()
    assert lp.reason.str.startswith(f"unavailable: LPIPS linear-head file {path} hash mismatch").all()
    assert table[(table.metric == "flicker") & (table.frame > 0)].value.notna().all()
    with pytest.raises(fm.MetricUnavailable, match="linear-head file .* hash mismatch"):
        fm.compute(video(), metrics=["lpips_prev"], strict=True)
    shutil.copy(official, path)  # the official file at the same path loads
    assert fm.compute(video(), metrics=["lpips_first"], strict=True).value[1:].notna().all()


def test_frames_below_alexnets_minimum_give_nan_with_the_size(random_backbone):
    table = fm.compute(torch.rand(2, 3, 30, 64), metrics=["lpips_first", "lpips_prev"])
    assert table.value.isna().all()
    assert table.reason.str.startswith("undefined: frames are 30x64; needs at least 31x31").all()
    assert fm.compute(torch.rand(2, 3, 31, 31), metrics=["lpips_first"], strict=True).value[1:].notna().all()
