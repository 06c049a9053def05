"""The toy model organism: world, codec, training (reusing the planning code), shipped checkpoints."""

import json
from dataclasses import replace

import numpy as np
import pytest
import pandas as pd
import torch

import fpkit
import fpkit.planning
import fpkit.sampler
from fpkit.toy import codec as toy_codec
from fpkit.toy import evaluate, organism, train, world
from fpkit.toy.world import EVAL_SEED_OFFSET

STRATEGIES = ("vanilla", "inverted_anti_drifting", "anti_drifting")
SHIPPED = organism.available()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # The build machines' 2 cores are shared: oversubscribed torch threads make these tests 5-10x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------
# World


def test_world_is_deterministic_and_longer_clips_extend_shorter_ones():
    a, b = world.render_clip(7, 12), world.render_clip(7, 20)
    assert torch.equal(a.frames, b.frames[:12])
    assert not torch.equal(a.frames, world.render_clip(8, 12).frames)
    assert a.frames.shape == (12, 3, 64, 64) and 0 <= a.frames.min() and a.frames.max() <= 1
    assert torch.equal(a.frames * 255, (a.frames * 255).round())  # 8-bit levels


def test_world_ground_truth_matches_pixels():
    clip = world.render_clip(3, 30)
    for t in (0, 29):
        for k in range(len(clip.shapes)):
            x, y = clip.positions[t, k].round().long().clamp(0, 63).tolist()
            # the sprite centre shows the sprite colour, unless a later sprite covers it
            covered = any(torch.dist(clip.positions[t, k], clip.positions[t, j]) < clip.radii[j] + 1
                          for j in range(k + 1, len(clip.shapes)))
            if not covered:
                assert torch.allclose(clip.frames[t, :, y, x], clip.colours[k], atol=2 / 255)
    assert (clip.positions >= clip.radii[None, :, None] - 1e-4).all()  # sprites bounce inside the frame
    assert (clip.positions <= 64 - clip.radii[None, :, None] + 1e-4).all()


def test_each_sprite_is_drawn_whole_in_every_frame_and_nothing_beyond_its_trail():
    # one sprite, drawn last (on top of its trail): every pixel centre inside radius - 0.5 is its colour,
    # in every frame, wherever it is (the renderer blends each copy only inside the box it covers); with
    # no trail, every pixel farther than radius + 0.5 is background
    spec = world.WorldSpec(sprites=(1, 1))
    bare = world.WorldSpec(sprites=(1, 1), trail=0)
    coords = torch.arange(64, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    for seed in range(12):
        clip, plain = world.render_clip(seed, 24, spec), world.render_clip(seed, 24, bare)
        background = world.render_clip(seed, 24, world.WorldSpec(sprites=(1, 1), trail=0, radius=(0.0, 0.0)))
        colour = torch.round(clip.colours[0] * 255) / 255
        for t in range(24):
            dx, dy = xx - clip.positions[t, 0, 0], yy - clip.positions[t, 0, 1]
            dist = torch.sqrt(dx * dx + dy * dy) if clip.shapes[0] == "disc" else torch.maximum(dx.abs(), dy.abs())
            inside, outside = dist <= clip.radii[0] - 0.5, dist >= clip.radii[0] + 0.5
            dot = background.positions[t, 0]  # the radius-0 sprite still tints the pixels within 0.5 of it
            outside &= torch.maximum((xx - dot[0]).abs(), (yy - dot[1]).abs()) >= 1
            assert inside.sum() > 20
            assert torch.equal(clip.frames[t][:, inside], colour[:, None].expand(3, int(inside.sum())))
            assert torch.equal(plain.frames[t][:, outside], background.frames[t][:, outside])


def test_world_spec_rejects_bad_values():
    with pytest.raises(ValueError, match="size"):
        world.WorldSpec(size=50)
    with pytest.raises(ValueError, match="shapes"):
        world.WorldSpec(shapes=("triangle",))
    with pytest.raises(ValueError, match="trail"):
        world.WorldSpec(trail=-1)
    with pytest.raises(ValueError, match="trail_alpha"):
        world.WorldSpec(trail_alpha=1.5)


def test_motion_trail_shows_where_a_sprite_is_heading():
    # one sprite, no texture: the pixels just behind the sprite (against its motion) carry its
    # colour faintly, the pixels just ahead are background; without a trail both are background
    spec = world.WorldSpec(sprites=(1, 1), texture=0.0, speed=(1.0, 1.0))
    plain = world.WorldSpec(sprites=(1, 1), texture=0.0, speed=(1.0, 1.0), trail=0)
    t = 20
    clip, bare = world.render_clip(11, t + 1, spec), world.render_clip(11, t + 1, plain)
    pos, r = clip.positions[t, 0], float(clip.radii[0])
    heading = (clip.positions[t, 0] - clip.positions[t - 1, 0]) / (clip.positions[t, 0] - clip.positions[t - 1, 0]).norm()
    behind = (pos - heading * (r + 2)).round().long().clamp(0, 63)
    ahead = (pos + heading * (r + 2)).round().long().clamp(0, 63)
    colour = clip.colours[0]

    def towards_sprite(frames, p):  # how far a pixel moved from the sprite-free frame toward the colour
        return float(torch.dot(frames[t, :, p[1], p[0]] - bare_bg[:, p[1], p[0]], colour - bare_bg[:, p[1], p[0]]))

    bare_bg = bare.frames[t]
    assert towards_sprite(clip.frames, behind) > 0.02
    assert abs(towards_sprite(clip.frames, ahead)) < 1e-3 and abs(towards_sprite(bare.frames, behind)) < 1e-3
    assert torch.equal(clip.positions, bare.positions)  # the trail changes pixels, never the motion


# ---------------------------------------------------------------------------------------------
# Codec


@pytest.fixture(scope="module")
def codec():
    return toy_codec.fit_codec(num_clips=32, num_frames=4, seed=0, latent_channels=32, patch_size=8)


def test_codec_round_trip_meets_psnr(codec):
    videos = world.render_clips(range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 8), 8)
    assert toy_codec.round_trip_psnr(codec, videos) >= 30.0


def test_codec_has_the_vae_interface(codec):
    x = world.render_clips([1, 2], 5)  # (B, 3, T, H, W) in [-1, 1]
    enc = codec.encode(x)
    z = enc.latent_dist.sample(generator=torch.Generator().manual_seed(0))
    assert z.shape == (2, 32, 5, 8, 8) and torch.equal(z, enc.latent_dist.mode())
    assert codec.spatial_compression_ratio == 8 and codec.temporal_compression_ratio == 1
    y = codec.decode(z / codec.config.scaling_factor, return_dict=False)[0]
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert 0.5 < float(z.std()) < 1.5  # unit-variance channels


def test_codec_whitening_sets_channel_variances_and_leaves_the_round_trip_alone():
    videos = world.render_clips(range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 4), 6)
    fits = {a: toy_codec.fit_codec(num_clips=16, num_frames=4, seed=0, whitening=a) for a in (1.0, 0.5, 0.0)}
    white, half, natural = fits[1.0], fits[0.5], fits[0.0]
    eig = white.scale.double() ** 2  # whitening 1 (every shipped codec): scale = sqrt(eigenvalue)
    assert torch.equal(white.components, natural.components)  # same PCA basis, other channel scales
    # whitening 0: one global scale, channel variances proportional to the eigenvalues, mean 1
    assert torch.allclose(natural.scale.double(), eig.mean().sqrt().expand(16), rtol=1e-5)
    assert torch.allclose(half.scale.double() ** 2, eig.sqrt() * eig.sqrt().mean(), rtol=1e-4)
    fit = world.render_clips(np.random.default_rng(0).integers(0, EVAL_SEED_OFFSET, 16), 4)  # the fitting clips
    var = natural.encode(fit).latent_dist.mode().double().var((0, 2, 3, 4))
    assert var.mean().item() == pytest.approx(1.0, rel=0.02) and var[0] > 20 * var[-1]
    assert torch.allclose(white.encode(fit).latent_dist.mode().double().var((0, 2, 3, 4)), torch.ones(16, dtype=torch.double), atol=0.02)
    psnrs = [toy_codec.round_trip_psnr(c, videos) for c in (white, half, natural)]
    assert max(psnrs) - min(psnrs) < 1e-3 and psnrs[0] > 33
    for bad in (-0.1, 1.5, float("nan"), "0"):
        with pytest.raises(ValueError, match="whitening"):
            toy_codec.PatchPCACodec(whitening=bad)
        with pytest.raises(ValueError, match="codec_whitening"):
            train.TrainConfig(codec_whitening=bad)


# ---------------------------------------------------------------------------------------------
# Training


def test_weights_digest_follows_the_file_it_names(tmp_path):
    # cached per (path, size, mtime): a retrained file in the same place gets its own digest
    import hashlib
    import os

    from fpkit.toy.organism import weights_digest

    path = tmp_path / "transformer.safetensors"
    path.write_bytes(b"first weights")
    first = weights_digest(path)
    assert first == hashlib.sha256(b"first weights").hexdigest()[:12] == weights_digest(path)
    path.write_bytes(b"other weights")  # same size: only the mtime tells the cache
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10 ** 9))
    assert weights_digest(path) == hashlib.sha256(b"other weights").hexdigest()[:12] != first


def test_training_reuses_the_planning_code(monkeypatch):
    calls = {"plan": 0, "canvas": 0, "context": 0}
    real_plan, real_canvas, real_context = fpkit.planning.plan, fpkit.sampler.make_canvas, fpkit.sampler.context_inputs

    def spy(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(fpkit.planning, "plan", spy("plan", real_plan))
    monkeypatch.setattr(fpkit.sampler, "make_canvas", spy("canvas", real_canvas))
    monkeypatch.setattr(fpkit.sampler, "context_inputs", spy("context", real_context))
    cfg = train.TrainConfig(batch_size=2, warmup=1)
    train.train("inverted", steps=3, seed=1, config=cfg, progress=False)
    assert calls["plan"] >= 3 and calls["canvas"] == 3 and calls["context"] == 3


def test_section_batch_knows_only_earlier_sections():
    lat = torch.randn(2, 4, 14, 8, 8)  # a 13-latent clip + a last image
    the_plan = fpkit.planning.plan("inverted_anti_drifting", 3, 4, (8, 8), 2, has_last_image=True)
    order = 1  # the middle section: the end section (order 0) and the last image are known
    batch = train.section_batch(the_plan, order, lat)
    section = the_plan.sections[order]
    assert torch.equal(batch["x0"], lat[:, :, section.window[0]:section.window[1]])
    sources = section.inputs()["clean"][0]  # start anchor + nearest future frame
    assert sources == [0, section.window[1]]
    assert torch.equal(batch["context"]["latents_clean"][:, :, 1], lat[:, :, section.window[1]])
    # the 4x slot reaches past the end section: positions >= 13 are zeros (or the last image at 13)
    s4 = section.inputs()["history_4x"][0]
    for i, p in enumerate(s4):
        expect = torch.zeros_like(lat[:, :, 0]) if p is None else lat[:, :, p]
        assert torch.equal(batch["context"]["latents_history_4x"][:, :, i], expect)


def test_ablation_variants_see_the_same_training_data():
    # f1, f1+D and f1-h1 differ only in what they ablate: same clips, plans, orders (the +D codebook
    # draws from its own RNG stream)
    cfg = train.TrainConfig(batch_size=2)
    draws = {}
    for name in ("f1", "f1+D", "f1-h1"):
        _, _, data, codebook = train.setup(train.VARIANTS[name], 5, cfg, world.WorldSpec())
        assert (codebook is not None) == (name == "f1+D")
        draws[name] = [(data.seeds(2).tolist(), train.draw_plan(data.variant, data.rng, (8, 8), 2)[1])
                       for _ in range(5)]
    assert draws["f1"] == draws["f1+D"] == draws["f1-h1"]


def test_first_section_weight_oversamples_generation_order_0():
    rng = np.random.default_rng(0)
    uniform = replace(train.VARIANTS["inverted"], first_section_weight=1.0, also=(), last_image=0.0, sections=(4, 4))
    heavy = replace(uniform, first_section_weight=3.0)
    share = {}
    for name, v in (("uniform", uniform), ("heavy", heavy)):
        orders = [train.draw_plan(v, rng, (8, 8), 2)[1] for _ in range(2000)]
        share[name] = np.mean(np.array(orders) == 0)
    assert share["uniform"] == pytest.approx(1 / 4, abs=0.03) and share["heavy"] == pytest.approx(3 / 6, abs=0.03)
    with pytest.raises(ValueError, match="first_section_weight"):
        replace(uniform, first_section_weight=0)


def test_resume_continues_a_checkpoint_and_refuses_another_variant(tmp_path):
    from fpkit.toy.cli import main

    out = tmp_path / "run"
    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--out", str(out)]
    assert main([*base, "--steps", "3", "--snapshot-every", "3"]) == 0
    first = organism.load_organism(str(out)).transformer.state_dict()
    assert (out / "snapshots" / "step_0000003.safetensors").exists()
    assert main([*base, "--steps", "5", "--resume", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["steps"] == 5 and meta["resumed_from"]["step"] == 3
    resumed = organism.load_organism(str(out)).transformer.state_dict()
    assert any(not torch.equal(first[k], resumed[k]) for k in first)  # it trained on from there
    with pytest.raises(ValueError, match="variant config differs"):
        train.train("inverted", steps=6, resume=out, progress=False)
    # --init fine-tunes with another data cut of the same layout, counting on from the checkpoint's step
    shorter = replace(train.VARIANTS["f1"], sections=(1, 2))
    with pytest.raises(ValueError, match=r"variant config differs.*\(--init fine-tunes"):
        train.train(shorter, steps=6, resume=out, progress=False, config=replace(train.TrainConfig(), batch_size=2))
    tuned = tmp_path / "tuned"
    meta = train.train(shorter, steps=6, init=out, out_dir=tuned, progress=False,
                       config=replace(train.TrainConfig(), batch_size=2))
    assert meta["steps"] == 6 and meta["resumed_from"]["fine_tune"] and meta["resumed_from"]["step"] == 5
    assert json.loads((tuned / "config.json").read_text())["variant"]["sections"] == [1, 2]
    with pytest.raises(ValueError, match=r"--init .*may change only sections"):
        train.train("f1-h1", steps=6, init=out, progress=False)  # another history layout: not a fine-tune
    # --relayout: another variant (another layout) starts from these weights, counting on from their step
    with pytest.raises(ValueError, match=r"--relayout needs --init"):
        train.train("inverted", steps=6, resume=out, relayout=True, progress=False)
    moved = tmp_path / "inverted"
    meta = train.train("inverted", steps=6, init=out, relayout=True, out_dir=moved, progress=False,
                       config=replace(train.TrainConfig(), batch_size=2))
    assert meta["steps"] == 6 and meta["resumed_from"]["step"] == 5
    assert meta["resumed_from"]["relayout"] and meta["resumed_from"]["variant"] == "f1"
    assert json.loads((moved / "config.json").read_text())["variant"]["strategy"] == "inverted_anti_drifting"
    with pytest.raises(ValueError, match=r"its codec config differs"):  # never another model or codec
        train.train("inverted", steps=6, init=out, relayout=True, progress=False,
                    config=replace(train.TrainConfig(), codec_patch=4))
    with pytest.raises(ValueError, match="not both"):
        train.train("f1", steps=6, init=out, resume=out, progress=False)


def test_cli_trains_a_finer_codec_and_a_wider_deeper_model_and_resume_refuses_a_mismatch(tmp_path):
    from fpkit.toy.cli import main

    out = tmp_path / "c4"
    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--out", str(out)]
    assert main([*base, "--steps", "2", "--codec-patch", "4", "--heads", "6", "--blocks", "3"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["codec"]["patch_size"] == 4 and config["train"]["codec_patch"] == 4
    assert config["transformer"]["num_attention_heads"] == 6
    assert config["transformer"]["num_layers"] == config["transformer"]["num_single_layers"] == 3
    pipe = organism.load_organism(str(out))
    assert pipe.transformer.config.num_attention_heads == 6 and pipe.vae.spatial_compression_ratio == 4
    assert len(pipe.transformer.transformer_blocks) == len(pipe.transformer.single_transformer_blocks) == 3
    run = evaluate.generate(pipe, EVAL_SEED_OFFSET, 1, num_inference_steps=2)
    assert run.video.shape == (5, 3, 64, 64)
    z = pipe.vae.encode(world.render_clips([EVAL_SEED_OFFSET], 2)).latent_dist.mode()
    assert z.shape[-2:] == (16, 16)  # 4x4 patches: a 16x16 latent grid, 8x8 tokens per frame
    with pytest.raises(ValueError, match=r"transformer config differs.*num_attention_heads"):
        main([*base, "--steps", "4", "--codec-patch", "4", "--blocks", "3", "--resume", str(out)])  # 4 heads: not these weights
    with pytest.raises(ValueError, match=r"transformer config differs.*num_layers"):
        main([*base, "--steps", "4", "--codec-patch", "4", "--heads", "6", "--resume", str(out)])  # 2 blocks
    with pytest.raises(ValueError, match=r"codec config differs.*patch_size"):
        main([*base, "--steps", "4", "--heads", "6", "--blocks", "3", "--resume", str(out)])  # 8x8 codec: another latent space
    assert main([*base, "--steps", "3", "--codec-patch", "4", "--heads", "6", "--blocks", "3", "--resume", str(out)]) == 0
    with pytest.raises(SystemExit):
        main([*base, "--steps", "3", "--blocks", "0"])
    with pytest.raises(SystemExit):
        main([*base, "--steps", "3", "--codec-patch", "5"])


def test_cli_head_dim_and_codec_whitening_reach_the_saved_organism_and_resume_checks_them(tmp_path):
    from fpkit.toy.cli import main

    out = tmp_path / "h16w0"
    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--out", str(out), "--codec-patch", "4"]
    assert main([*base, "--steps", "2", "--heads", "8", "--head-dim", "16", "--codec-whitening", "0"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["transformer"]["attention_head_dim"] == 16 and config["transformer"]["rope_axes_dim"] == [4, 6, 6]
    assert config["codec"]["whitening"] == 0 and config["train"]["codec_whitening"] == 0
    pipe = organism.load_organism(str(out))
    assert pipe.transformer.config.num_attention_heads == 8 and pipe.vae.config.whitening == 0
    z = pipe.vae.encode(world.render_clips([EVAL_SEED_OFFSET], 2)).latent_dist.mode()
    assert z[:, 0].std() > 3 * z[:, -1].std()  # PCA's own variances: the patch-mean channel dominates
    with pytest.raises(ValueError, match=r"codec config differs.*whitening"):
        main([*base, "--steps", "3", "--heads", "8", "--head-dim", "16", "--resume", str(out)])
    with pytest.raises(ValueError, match=r"transformer config differs.*attention_head_dim"):
        main([*base, "--steps", "3", "--heads", "8", "--codec-whitening", "0", "--resume", str(out)])
    with pytest.raises(SystemExit):
        main([*base, "--steps", "2", "--codec-whitening", "2"])


def test_resume_accepts_checkpoints_written_before_codec_whitening_existed(tmp_path):
    from fpkit.toy.cli import main

    out = tmp_path / "old"
    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--out", str(out)]
    assert main([*base, "--steps", "2"]) == 0
    config = json.loads((out / "config.json").read_text())
    del config["codec"]["whitening"]  # as in every folder shipped up to stop 26
    (out / "config.json").write_text(json.dumps(config))
    assert organism.load_organism(str(out)).vae.config.whitening == 1.0
    assert main([*base, "--steps", "3", "--resume", str(out)]) == 0
    with pytest.raises(ValueError, match=r"codec config differs.*whitening"):
        main([*base, "--steps", "4", "--codec-whitening", "0", "--resume", str(out)])


def test_cli_history_sets_the_packed_layout_the_organism_trains_and_samples_with(tmp_path):
    from fpkit.toy.cli import main

    out = tmp_path / "h3"
    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress"]
    assert main([*base, "--steps", "2", "--history", "3", "2", "8", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["variant"]["name"] == "f1" and config["variant"]["history"]["k1"] == 3
    pipe = organism.load_organism(str(out))
    assert pipe.fpkit_history == fpkit.HistorySpec(k1=3, k2=2, k4=8)
    run = evaluate.generate(pipe, EVAL_SEED_OFFSET, 2, num_inference_steps=1, record="sections")
    layouts = run.trace.to_frame()["layout"].tolist()
    assert all("f3k1" in name and "f8k4" in name for name in layouts), layouts  # the trained layout, not 1/2/16
    with pytest.raises(ValueError, match="history config differs|variant config differs"):
        main([*base, "--steps", "3", "--resume", str(out), "--out", str(out)])  # 1/2/16: another layout
    for bad in (["0", "2", "16"], ["1", "-1", "16"]):
        with pytest.raises(SystemExit):
            main([*base, "--steps", "2", "--history", *bad, "--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


def test_cli_sections_sets_the_training_plans_and_the_length_it_is_evaluated_at(tmp_path, monkeypatch):
    from fpkit.toy.cli import main

    drawn = []
    plan = fpkit.planning.plan

    def spy(strategy, num_sections, *args, **kwargs):
        drawn.append(num_sections)
        return plan(strategy, num_sections, *args, **kwargs)

    monkeypatch.setattr(fpkit.planning, "plan", spy)
    out = tmp_path / "short"
    base = ["train", "--variant", "inverted", "--batch-size", "2", "--no-progress"]
    assert main([*base, "--steps", "30", "--sections", "1", "2", "--out", str(out)]) == 0
    assert set(drawn) == {1, 2}  # training plans of 1 and 2 sections only (inverted's own: 1-4)
    monkeypatch.undo()
    config = json.loads((out / "config.json").read_text())
    assert config["variant"]["sections"] == [1, 2] and config["variant"]["name"] == "inverted"
    g = evaluate.geometry(organism.load_organism(str(out)))
    assert g["train_sections"] == 2  # `fpkit toy eval` scores it at 2 sections (9 frames)
    with pytest.raises(ValueError, match="variant config differs"):
        main([*base, "--steps", "31", "--resume", str(out), "--out", str(tmp_path / "y")])  # 1-4: another cut
    for bad in (["0", "2"], ["3", "2"]):
        with pytest.raises(SystemExit):
            main([*base, "--steps", "2", "--sections", *bad, "--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


def test_cli_last_image_and_first_section_weight_set_what_the_plans_train_on(tmp_path):
    """--last-image P and --first-section-weight W change the inverted training draw as stated (a last
    image in a share P of the plans; order 0 drawn W times as often as each later order), are kept
    in config.json, make another data cut for --resume, and refuse values out of range."""
    from fpkit.toy.cli import main
    from fpkit.toy.train import VARIANTS, draw_plan

    variant = replace(VARIANTS["inverted"], sections=(3, 3), also=(), last_image=0.1, first_section_weight=4.0)
    rng = np.random.default_rng(0)
    draws = [draw_plan(variant, rng, (16, 16), 2) for _ in range(4000)]
    last = np.mean([p.has_last_image for p, _ in draws])
    first = np.mean([o == 0 for _, o in draws])
    assert abs(last - 0.1) < 0.02 and abs(first - 4 / 6) < 0.03  # shipped: 0.5 and 2 / 4
    out = tmp_path / "matched"
    base = ["train", "--variant", "inverted", "--batch-size", "2", "--no-progress", "--steps", "2"]
    assert main([*base, "--last-image", "0.1", "--first-section-weight", "4", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())["variant"]
    assert (config["last_image"], config["first_section_weight"]) == (0.1, 4.0)
    with pytest.raises(ValueError, match="variant config differs"):
        main([*base, "--resume", str(out), "--out", str(tmp_path / "y")])  # the shipped 0.5 / 2: another cut
    for bad in (["--last-image", "1.5"], ["--last-image", "nan"], ["--first-section-weight", "0"],
                ["--first-section-weight", "nan"]):
        with pytest.raises(SystemExit):
            main([*base, *bad, "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit):  # vanilla plans take no last image: refused, not ignored
        main(["train", "--variant", "f1", "--steps", "2", "--last-image", "0.5", "--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


def test_cli_world_speed_trains_on_and_scores_against_that_world(tmp_path):
    from fpkit.toy.cli import main

    out = tmp_path / "fast"
    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--steps", "2"]
    assert main([*base, "--world-speed", "2", "3", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["world"]["speed"] == [2.0, 3.0]
    spec = evaluate.geometry(organism.load_organism(str(out)))["spec"]
    assert spec.speed == (2.0, 3.0)  # the truth clips the measures compare against move at 2-3 px/frame
    truth = world.render_clip(EVAL_SEED_OFFSET, 9, spec)
    step = (truth.positions[1:] - truth.positions[:-1]).norm(dim=-1)
    assert float(step.median()) >= 2.0  # per frame; the default world moves 0.4-1.0
    with pytest.raises(ValueError, match="world"):
        main([*base, "--resume", str(out), "--out", str(tmp_path / "y")])  # the default world: another one
    for bad in (["3", "2"], ["-1", "2"], ["nan", "1"]):
        with pytest.raises(SystemExit):
            main([*base, "--world-speed", *bad, "--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()
    for bad in ((float("nan"), 1.0), (0.4, float("inf"))):
        with pytest.raises(ValueError, match="WorldSpec.speed must be a finite"):
            world.WorldSpec(speed=bad)  # NaN compared False against every bound before


def test_a_long_schedule_in_chunks_stops_at_and_resumes_from_a_snapshot(tmp_path):
    from fpkit.toy.cli import main

    out = tmp_path / "run"
    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--steps", "8"]
    assert main([*base, "--stop-at", "4", "--snapshot-every", "2", "--out", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["steps"] == 4 and meta["max_steps"] == 8 and not meta["finished"]
    snapshot = out / "snapshots" / "step_0000002.safetensors"
    again = tmp_path / "again"
    assert main([*base, "--stop-at", "6", "--resume", str(snapshot), "--out", str(again)]) == 0
    meta = json.loads((again / "meta.json").read_text())
    assert meta["steps"] == 6 and meta["resumed_from"]["step"] == 2 and not meta["finished"]
    assert main([*base, "--resume", str(again), "--out", str(again)]) == 0
    assert json.loads((again / "meta.json").read_text())["finished"]
    with pytest.raises(ValueError, match="stop-at"):
        main([*base, "--stop-at", "9", "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="snapshots/step_N"):
        main([*base, "--resume", str(out / "meta.json"), "--out", str(tmp_path / "x")])


def test_motion_weight_from_trains_plain_steps_before_it_and_weighted_steps_from_it(tmp_path):
    from fpkit.toy.cli import main

    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--steps", "6", "--stop-at", "4"]
    assert main([*base, "--stop-at", "2", "--out", str(tmp_path / "a")]) == 0
    resume = ["--resume", str(tmp_path / "a")]

    def weights(name, *flags):
        assert main([*base, *resume, *flags, "--out", str(tmp_path / name)]) == 0
        return (tmp_path / name / "transformer.safetensors").read_bytes()

    plain, weighted = weights("plain"), weights("weighted", "--motion-weight", "10")
    assert plain != weighted
    assert weights("from2", "--motion-weight", "10", "--motion-weight-from", "2") == weighted  # from <= the restart
    assert weights("from4", "--motion-weight", "10", "--motion-weight-from", "4") == plain  # not reached by step 4
    from3 = weights("from3", "--motion-weight", "10", "--motion-weight-from", "3")  # step 2 plain, step 3 weighted
    assert from3 not in (plain, weighted)
    assert json.loads((tmp_path / "from3" / "config.json").read_text())["train"]["motion_weight_from"] == 3
    displaced = weights("displaced", "--displacement-weight", "3")  # the CLI reaches the loss and config.json
    assert displaced not in (plain, weighted)
    assert json.loads((tmp_path / "displaced" / "config.json").read_text())["train"]["displacement_weight"] == 3
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match=f"motion_weight_from must be a step number >= 0, got {bad!r}"):
            train.TrainConfig(motion_weight=1.0, motion_weight_from=bad)
    with pytest.raises(ValueError, match="motion_weight_from=5 needs a motion_weight > 0"):
        train.TrainConfig(motion_weight_from=5)
    with pytest.raises(SystemExit):  # the CLI names the bad flag before any model is built
        main([*base, "--motion-weight-from", "5", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit):
        main([*base, "--displacement-weight", "nan", "--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


def test_tail_trains_the_variants_cut_before_its_step_and_the_tail_cut_from_it(tmp_path):
    from fpkit.toy.cli import main

    base = ["train", "--variant", "inverted", "--batch-size", "2", "--no-progress", "--steps", "6", "--stop-at", "4"]
    assert main([*base, "--stop-at", "2", "--out", str(tmp_path / "a")]) == 0
    a = str(tmp_path / "a")
    tail = ["--tail-sections", "2", "2", "--tail-last-image", "0", "--tail-first-section-weight", "12"]

    def weights(name, *flags):
        assert main([*base, *flags, "--out", str(tmp_path / name)]) == 0
        return (tmp_path / name / "transformer.safetensors").read_bytes()

    plain = weights("plain", "--resume", a)
    fine_tune = weights("init", "--init", a, "--sections", "2", "2", "--last-image", "0", "--first-section-weight", "12")
    assert fine_tune != plain
    assert weights("from2", "--resume", a, "--tail-from", "2", *tail) == fine_tune  # from the restart: a fine-tune on the cut
    assert weights("from4", "--resume", a, "--tail-from", "4", *tail) == plain  # not reached by step 4
    assert weights("from3", "--resume", a, "--tail-from", "3", *tail) not in (plain, fine_tune)
    config = json.loads((tmp_path / "from3" / "config.json").read_text())
    assert config["variant"]["sections"] == [1, 4] and config["variant"]["first_section_weight"] == 2  # its own cut
    assert (config["train"]["tail_from"], config["train"]["tail_sections"], config["train"]["tail_last_image"],
            config["train"]["tail_first_section_weight"]) == (3, [2, 2], 0, 12)
    cfg = train.TrainConfig(tail_from=3, tail_sections=(2, 2), tail_first_section_weight=12.0)
    variant = train.VARIANTS["inverted"]
    assert cfg.variant_at(variant, 2) == variant and cfg.variant_at(variant, 3) == replace(
        variant, sections=(2, 2), first_section_weight=12.0)  # last_image not given: the variant's own
    displaced = weights("displaced", "--resume", a, "--displacement-weight", "3")
    assert displaced != plain
    assert weights("displaced2", "--resume", a, "--displacement-weight", "3", "--displacement-weight-from", "2") == displaced
    assert weights("displaced4", "--resume", a, "--displacement-weight", "3", "--displacement-weight-from", "4") == plain
    for kwargs, message in ((dict(tail_from=3), r"tail_from=3 and the tail's cut \{\} come together"),
                            (dict(tail_sections=(2, 2)), "tail_from=0 and the tail's cut"),
                            (dict(tail_from=True, tail_sections=(2, 2)), "tail_from must be a step number >= 0, got True"),
                            (dict(tail_from=1, tail_sections=(3, 1)), r"tail_sections: sections must be a range .* \(3, 1\)"),
                            (dict(tail_from=1, tail_sections=[2, 2]), r"tail_sections must be a \(low, high\) pair"),
                            (dict(tail_from=1, tail_last_image=float("nan")), "tail_last_image: last_image must be a probability"),
                            (dict(tail_from=1, tail_first_section_weight=0.0), "tail_first_section_weight: first_section_weight must be > 0"),
                            (dict(displacement_weight_from=2), "displacement_weight_from=2 needs a displacement_weight > 0")):
        with pytest.raises(ValueError, match=message):
            train.TrainConfig(**kwargs)
    for flags in (["--tail-from", "3"], ["--tail-sections", "2", "2"], ["--tail-from", "3", "--tail-last-image", "nan"],
                  ["--tail-from", "3", "--tail-sections", "3", "1"], ["--displacement-weight-from", "2"]):
        with pytest.raises(SystemExit):  # named by the CLI before any model is built
            main([*base, *flags, "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit):  # F1 plans take no last image
        main(["train", "--variant", "f1", "--steps", "2", "--tail-from", "1", "--tail-last-image", "0.5",
              "--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


def test_anneal_cools_the_lr_down_over_the_last_steps(tmp_path):
    from fpkit.toy.cli import main

    assert train.annealed(1e-3, 5, end=10, anneal=4, lr_min=1e-4) == 1e-3  # before the cooldown
    assert train.annealed(1e-3, 6, end=10, anneal=4, lr_min=1e-4) == pytest.approx(1e-3 - 0.25 * 9e-4)
    assert train.annealed(1e-3, 9, end=10, anneal=4, lr_min=1e-4) == pytest.approx(1e-4)  # the last step
    assert train.annealed(1e-3, 9, end=10, anneal=0, lr_min=1e-4) == 1e-3
    base = ["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--steps", "8"]
    out = tmp_path / "run"
    assert main([*base, "--stop-at", "4", "--out", str(out)]) == 0
    cooled = tmp_path / "cooled"
    assert main([*base, "--stop-at", "6", "--anneal", "2", "--resume", str(out), "--out", str(cooled)]) == 0
    meta = json.loads((cooled / "meta.json").read_text())
    assert meta["anneal"] == 2 and meta["steps"] == 6 and meta["resumed_from"]["step"] == 4
    with pytest.raises(ValueError, match="--anneal 3 is longer than this run"):
        main([*base, "--stop-at", "6", "--anneal", "3", "--resume", str(out), "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="--anneal 9 is longer than the run"):
        main([*base, "--anneal", "9", "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="--anneal needs --steps"):
        train.train("f1", minutes=0.01, anneal=2)


def test_toy_eval_splits_over_processes_and_merges_the_tables(tmp_path, capsys):
    """`fpkit toy eval --only` evaluates some (variant, strategy) pairs; `--reuse A B` merges split runs
    into one report (the documented way to use both cores); overlaps and bad names are refused."""
    import pandas as pd

    from fpkit.toy.cli import main

    root = tmp_path / "root"
    for variant in ("f1", "inverted"):
        assert main(["train", "--variant", variant, "--batch-size", "2", "--no-progress", "--steps", "1",
                     "--out", str(root / variant)]) == 0
    common = ["eval", "--root", str(root), "--seeds", "2", "--multiples", "1", "2", "--steps", "1", "--no-progress"]
    assert main([*common, "--only", "f1/vanilla", "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--only", "inverted/inverted_anti_drifting", "--out", str(tmp_path / "b")]) == 0
    a = pd.read_parquet(tmp_path / "a" / "table.parquet")
    assert set(zip(a.variant, a.strategy)) == {("f1", "vanilla")} and set(a.multiple) == {0, 1, 2}
    merged = tmp_path / "merged"
    tables = [str(tmp_path / x / "table.parquet") for x in "ab"]
    assert main(["eval", "--root", str(root), "--reuse", *tables, "--out", str(merged)]) == 0
    assert "2 unseen start images" in (merged / "report.md").read_text()
    assert ", 1 sampling steps." in (merged / "report.md").read_text()  # the tables' steps, not the default 12
    table = pd.read_parquet(merged / "table.parquet")
    assert set(zip(table.variant, table.strategy)) == {("f1", "vanilla"), ("inverted", "inverted_anti_drifting")}
    assert len(table) == len(a) + len(pd.read_parquet(tables[1]))
    ablation = pd.read_csv(merged / "ablation.csv")
    assert set(ablation.variant) == {"f1", "inverted"} and ablation.minus_baseline.notna().all()  # paired across parts
    assert "motion_follow" in set(pd.read_csv(merged / "likeness.csv").measure)
    capsys.readouterr()
    assert main(["eval", "--root", str(root), "--reuse", tables[0], tables[0], "--out", str(merged)]) == 2
    assert "overlap" in capsys.readouterr().err
    assert main(["eval", "--root", str(root), "--only", "f9/vanilla", "--out", str(merged)]) == 2
    assert "'f9/vanilla'" in capsys.readouterr().err
    assert main(["eval", "--root", str(root), "--reuse", str(tmp_path / "none.parquet"), "--out", str(merged)]) == 2
    assert "no such table" in capsys.readouterr().err
    # noise: one draw per clip by default (noise seed = clip seed); --noise shared samples every clip with
    # noise seed 0, as the tables up to stop 29 did (those have no noise_seed column); the two never merge
    assert (a.noise_seed == a.seed).all() and a.seed.nunique() == 2
    assert "one noise draw per start image" in (merged / "report.md").read_text()
    assert main([*common, "--only", "inverted/inverted_anti_drifting", "--noise", "shared", "--out",
                 str(tmp_path / "c")]) == 0
    c = pd.read_parquet(tmp_path / "c" / "table.parquet")
    assert (c.noise_seed == 0).all()
    assert not c.set_index(["seed", "multiple", "measure"]).value.equals(
        pd.read_parquet(tables[1]).set_index(["seed", "multiple", "measure"]).value)  # other noise, other videos
    capsys.readouterr()
    assert main(["eval", "--root", str(root), "--reuse", tables[0], str(tmp_path / "c" / "table.parquet"),
                 "--out", str(tmp_path / "mixed")]) == 2
    assert "different noise rules ['per-seed', 'shared']" in capsys.readouterr().err
    legacy = tmp_path / "legacy.parquet"
    a.drop(columns="noise_seed").to_parquet(legacy)  # written before the column existed
    assert main(["eval", "--root", str(root), "--reuse", str(legacy), str(tmp_path / "c" / "table.parquet"),
                 "--out", str(tmp_path / "old"), "--steps", "1"]) == 0
    assert "noise seed 0) shared by every start image" in (tmp_path / "old" / "report.md").read_text()
    a.assign(noise_seed=7).to_parquet(tmp_path / "odd.parquet")
    assert main(["eval", "--root", str(root), "--reuse", str(tmp_path / "odd.parquet"), "--out",
                 str(tmp_path / "odd")]) == 2
    assert "neither its clip seeds nor all 0" in capsys.readouterr().err
    assert main(["eval", "--root", str(root), "--reuse", tables[0], "--noise", "shared", "--out",
                 str(tmp_path / "e")]) == 2
    assert "--noise shared: the tables were sampled with --noise per-seed" in capsys.readouterr().err
    # sampling steps and the prompt rule are the tables' own: a disagreeing flag or two settings are refused
    assert set(a.steps) == {1} and set(a.prompt) == {"auto"}
    assert main(["eval", "--root", str(root), "--reuse", *tables, "--steps", "2", "--out", str(tmp_path / "g")]) == 2
    assert "--steps 2: the tables were sampled with --steps 1" in capsys.readouterr().err
    assert main(["eval", "--root", str(root), "--reuse", *tables, "--prompt", "generic", "--out",
                 str(tmp_path / "g")]) == 2
    assert "--prompt generic: the tables were sampled with --prompt auto" in capsys.readouterr().err
    pd.read_parquet(tables[1]).assign(steps=2).to_parquet(tmp_path / "two_steps.parquet")
    assert main(["eval", "--root", str(root), "--reuse", tables[0], str(tmp_path / "two_steps.parquet"), "--out",
                 str(tmp_path / "g")]) == 2
    assert "different --steps ['1', '2']" in capsys.readouterr().err
    a[a.seed == a.seed.min()].to_parquet(tmp_path / "one_seed.parquet")
    assert main(["eval", "--root", str(root), "--reuse", str(tmp_path / "one_seed.parquet"), tables[1], "--out",
                 str(tmp_path / "f")]) == 2
    assert "different seeds" in capsys.readouterr().err
    # the tables record which weights they sampled; the contact sheets sample --root: another root is refused
    from fpkit.toy.organism import weights_digest

    assert set(a.weights) == {weights_digest(root / "f1" / "transformer.safetensors")}
    other = tmp_path / "other"
    assert main(["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--steps", "2",
                 "--out", str(other / "f1")]) == 0
    assert main(["eval", "--root", str(other), "--reuse", tables[0], "--out", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert f"sampled f1 with weights {a.weights[0]}" in err and "give the --root they were sampled from" in err
    assert not (tmp_path / "h" / "report.md").exists()
    with pytest.raises(SystemExit):
        main([*common, "--noise", "fixed", "--out", str(tmp_path / "d")])


def test_generate_draws_one_noise_per_clip_and_the_shared_rule_one_for_all(tmp_path, monkeypatch):
    from fpkit.toy.cli import main

    assert main(["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--steps", "1",
                 "--out", str(tmp_path / "f1")]) == 0
    pipe = organism.load_organism(str(tmp_path / "f1"))
    a, b = EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 1
    assert evaluate.noise_seed_for(b) == b and evaluate.noise_seed_for(b, "shared") == 0
    with pytest.raises(ValueError, match="'fixed'"):
        evaluate.noise_seed_for(a, "fixed")
    def no_loading(*args, **kwargs):
        raise AssertionError("an organism loaded before the bad rule was refused")

    monkeypatch.setattr(organism, "load_organism", no_loading)
    with pytest.raises(ValueError, match="'fixed'"):
        evaluate.evaluate_organisms([("f1", "vanilla")], seeds=[a], root=tmp_path, noise="fixed", progress=False)
    with pytest.raises(ValueError, match="'fixed'"):
        evaluate.likeness_vs_steps(tmp_path / "f1", [a], noise="fixed")
    monkeypatch.undo()
    with pytest.raises(TypeError, match="noise_seed"):
        evaluate.generate(pipe, b, 1, num_inference_steps=1, noise="shared")
    video = evaluate.generate(pipe, b, 1, num_inference_steps=1).video
    assert torch.equal(video, evaluate.generate(pipe, np.int64(b), 1, num_inference_steps=1).video)  # numpy seeds
    assert torch.equal(video, evaluate.generate(pipe, b, 1, num_inference_steps=1, noise_seed=b).video)
    assert not torch.equal(video, evaluate.generate(pipe, b, 1, num_inference_steps=1, noise_seed=0).video)
    table = evaluate.likeness(pipe, [a, b], num_sections=1, num_inference_steps=1, noise="shared")
    assert list(table.noise_seed) == [0, 0]
    expected = evaluate.compare_to_world(evaluate.generate(pipe, b, 1, num_inference_steps=1, noise_seed=0).video, b)
    assert table.hist_distance.iloc[1] == expected["hist_distance"]
    assert list(evaluate.likeness(pipe, [a, b], num_inference_steps=1).noise_seed) == [a, b]
    # sampler settings reach the sampler: a shifted schedule scores its own video, not the rule's
    shifted = evaluate.likeness(pipe, [b], num_sections=1, num_inference_steps=3, flow_shift=6.0)
    video = evaluate.generate(pipe, b, 1, num_inference_steps=3, flow_shift=6.0).video
    assert shifted.hist_distance.iloc[0] == evaluate.compare_to_world(video, b)["hist_distance"]
    rule = evaluate.likeness(pipe, [b], num_sections=1, num_inference_steps=3)
    assert rule.hist_distance.iloc[0] != shifted.hist_distance.iloc[0]
    with pytest.raises(TypeError, match="noise_seed=0"):
        evaluate.likeness(pipe, [b], num_inference_steps=1, noise_seed=0)


def test_history_discretization_snaps_to_the_codebook():
    lat = torch.randn(1, 4, 9, 8, 8)
    centroids = train.fit_codebook(lat, 16, iters=5)
    the_plan = fpkit.planning.plan("vanilla", 2, 4, (8, 8), 2)
    batch = train.section_batch(the_plan, 1, lat, centroids)
    clean = batch["context"]["latents_clean"]  # start anchor (exact) + last past frame (quantized)
    assert torch.equal(clean[:, :, 0], lat[:, :, 0])
    pixels = clean[:, :, 1].permute(0, 2, 3, 1).reshape(-1, 4)
    assert torch.cdist(pixels, centroids).min(1).values.max() < 1e-3


def _eval_loss(pipe, seed=123):
    """Loss of a pipeline's transformer on a fixed batch (fixed plan, clips, noise, sigmas)."""
    variant = train.VARIANTS["f1"]
    rng = np.random.default_rng(seed)
    data = train.Data(variant, pipe.vae, world.WorldSpec(), rng, None, pipe.transformer.config.patch_size)
    cond = train.Conditioning(pipe)
    g = torch.Generator().manual_seed(seed)
    losses = []
    with torch.no_grad():
        for _ in range(3):
            batch, first = data.batch(8)
            sigma = torch.rand(8, generator=g) * 0.8 + 0.1
            noise = torch.randn(batch["x0"].shape, generator=g)
            losses.append(train.flow_matching_loss(pipe.transformer, cond, batch, torch.zeros(8, dtype=torch.long),
                                                   cond.image(first), sigma, noise).item())
    return float(np.mean(losses))


def test_a_few_training_steps_lower_the_loss():
    cfg = train.TrainConfig(batch_size=4, warmup=5, lr=2e-3, ema=0.9)
    before, _, _, _ = train.setup(train.VARIANTS["f1"], 0, cfg, world.WorldSpec())
    meta = train.train("f1", steps=40, seed=0, config=cfg, progress=False)
    assert meta["steps"] == 40 and np.isfinite(meta["final_loss"])
    assert _eval_loss(meta["pipe"]) < 0.8 * _eval_loss(before)


def test_cli_train_writes_a_loadable_checkpoint(tmp_path):
    from fpkit.toy.cli import main

    out = tmp_path / "ck"
    assert main(["train", "--variant", "f1+D", "--steps", "2", "--batch-size", "2", "--seed", "3",
                 "--out", str(out), "--no-progress"]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["steps"] == 2 and "--variant f1+D" in meta["command"]
    assert (out / "codebook.safetensors").exists()
    assert organism.available(tmp_path) == ["ck"]
    pipe = organism.load_organism(str(out))
    assert pipe.fpkit_sampling_type == "vanilla"
    run = evaluate.generate(pipe, EVAL_SEED_OFFSET, 2, num_inference_steps=2)
    assert run.video.shape == (9, 3, 64, 64)
    assert toy_codec.psnr(run.video[0], world.real_video(EVAL_SEED_OFFSET, 1)[0], data_range=1.0) > 25


# ---------------------------------------------------------------------------------------------
# Evaluation


# measures and their controls: tests/test_toy_eval.py


# ---------------------------------------------------------------------------------------------
# Shipped checkpoints


@pytest.mark.skipif(not SHIPPED, reason="no shipped toy checkpoints")
@pytest.mark.filterwarnings("ignore:this pipeline's transformer was trained")  # wrong layouts on purpose
@pytest.mark.parametrize("variant", SHIPPED)
def test_shipped_checkpoint_generates_with_every_strategy(variant):
    pipe = organism.load_organism(variant)
    meta = organism.read_meta(variant)
    assert meta["seed"] == 0 and meta["command"].startswith("fpkit toy train") and meta["steps"] >= 4000
    assert pipe.fpkit_history == fpkit.HistorySpec(**organism.read_config(variant)["variant"]["history"])
    start = world.real_video(EVAL_SEED_OFFSET + 1, 1, evaluate.geometry(pipe)["spec"])[0]
    for strategy in STRATEGIES:
        run = evaluate.generate(pipe, EVAL_SEED_OFFSET + 1, 2, strategy, num_inference_steps=2)
        assert run.video.shape == (9, 3, 64, 64)
        assert run.trace.plan.strategy == strategy and run.trace.plan.num_sections == 2
        # every strategy's video begins at the start image (through the codec: ~31 dB)
        assert toy_codec.psnr(run.video[0], start, data_range=1.0) > 25


@pytest.mark.skipif(len(SHIPPED) < 2, reason="fewer than two shipped toy checkpoints")
def test_shipped_variants_had_equal_training_budgets_and_the_same_recipe():
    metas = {v: organism.read_meta(v) for v in SHIPPED}
    configs = {v: organism.read_config(v) for v in SHIPPED}
    assert len({(m["steps"], m["max_steps"], m["seed"]) for m in metas.values()}) == 1, metas
    # the ablation variants differ from their base f1 only in what they ablate: same model, codec, training
    # (the inverted organism is another base, the paper's other checkpoint: same model, its own recipe)
    # (a train key a folder lacks was added to TrainConfig after it was written: it trained with the default)
    defaults = train.TrainConfig().to_dict()
    recipe = {v: json.dumps([c["transformer"], c["codec"], {**defaults, **c["train"]}], sort_keys=True)
              for v, c in configs.items()}
    assert len({recipe[v] for v in ("f1", "f1+D", "f1-h1") if v in recipe}) == 1
    assert len({json.dumps(c["transformer"], sort_keys=True) for c in configs.values()}) == 1
    for v, ablates in (("f1+D", {"codebook"}), ("f1-h1", {"history"})):
        if v in configs and "f1" in configs:
            base, ablated = configs["f1"]["variant"], configs[v]["variant"]
            assert {k for k in base if base[k] != ablated.get(k)} <= {"name", "description", *ablates}, v


def test_shipped_weights_fit_the_size_budget():
    total = sum(p.stat().st_size for p in organism.CHECKPOINT_DIR.rglob("*") if p.is_file())
    assert total <= 25 * 2**20


# Thresholds for the shipped organisms on 4 fixed unseen seeds (medians), set between the codec round
# trip (visible 1.0, hist 0.06, background 0.001, speed ratio 0.99, sharpness 0.62, shape 0.82: the
# best any generation can score) and the controls of test_toy_eval.py (blank / patch noise: visible <=
# 0.48, hist >= 0.47, background >= 0.02, shape 0.45; frozen: speed 0; 5x5 blur: sharpness 0.05). The
# shipped organisms (v5, step 18k, stop 42) score on these seeds with one noise draw per seed: visible
# 0.85-1.0 (seed 1e9+1 scores 0.5 for every organism: its sprites pass behind each other, the real clip
# 0.73), last section 0.75-1.0, hist 0.071-0.126, background 0.0015-0.0021, speed 0.56-0.78, sharpness
# 0.69-1.07, shape 0.74-0.79 (v4 at 16k: hist 0.068-0.127, speed 0.56-0.72, shape 0.69-0.83; v3 at 8k:
# hist 0.10-0.13, speed 0.26-0.40, shape 0.70-0.77; the stops 34-38 inverted organism: hist 0.094-0.101,
# speed 0.38-0.44, sharpness 1.03-1.22). Over 16 seeds speed stays below issue 9's target (within 1.5x
# of the world's) for inverted anti-drifting only (docs/toy.md). motion_follow: f1 has its own test; the
# inverted strategies follow 0.35-0.36 here (v4 0.30-0.32), guarded at 0.2 (the stops 34-38 organism's
# 0.09-0.12 fails it); f1+D's 0.20 on these seeds (0.59 over 16) is not clearly above a still sprite's
# 0. These thresholds guard against regressions.
LIKENESS_SEEDS = [EVAL_SEED_OFFSET + i for i in range(4)]
SHIPPED_THRESHOLDS = {"visible": (0.75, 1.0), "visible_last_section": (0.6, 1.0), "hist_distance": (0.0, 0.15),
                      "background_error": (0.0, 0.005), "speed_ratio": (0.25, 2.0), "sharpness_ratio": (0.3, 2.0),
                      "shape_iou": (0.65, 1.0)}
MIN_MOTION_FOLLOW = {("inverted", "inverted_anti_drifting"): 0.2, ("inverted", "anti_drifting"): 0.2}


@pytest.mark.parametrize("variant, strategy", [p for p in evaluate.ABLATION if p[0] in SHIPPED])
def test_every_shipped_variant_looks_like_the_world_at_its_training_length(variant, strategy):
    pipe = organism.load_organism(variant)
    table = evaluate.likeness(pipe, LIKENESS_SEEDS, sampling_type=strategy)
    medians = evaluate.scored(table)[list(SHIPPED_THRESHOLDS)].median()
    bad = {m: round(float(medians[m]), 4) for m, (lo, hi) in SHIPPED_THRESHOLDS.items() if not lo <= medians[m] <= hi}
    follow = float(evaluate.scored(table).motion_follow.median())
    if follow < MIN_MOTION_FOLLOW.get((variant, strategy), -1.0):
        bad["motion_follow"] = round(follow, 4)
    assert not bad, f"{variant}/{strategy} misses {bad}\n{table.to_string()}"


@pytest.mark.skipif("f1" not in SHIPPED, reason="f1 organism not shipped")
def test_f1_sprites_follow_the_worlds_motion():
    # v5 f1 follows about half the world's motion on these seeds (0.56, v4 0.54; 0.64 over 16 seeds; a
    # frozen clip scores 0, a still sprite that jitters ~0.03); the v3 organisms (0.04-0.27) would fail
    table = evaluate.likeness(organism.load_organism("f1"), LIKENESS_SEEDS, sampling_type="vanilla")
    assert evaluate.scored(table).motion_follow.median() >= 0.35, table.to_string()


@pytest.mark.skipif("f1" not in SHIPPED, reason="f1 organism not shipped")
def test_f1_vanilla_drifts_more_at_8x_than_at_1x_the_training_length():
    # 6 unseen seeds, one noise draw per seed: 13 vs 97 frames; docs/toy.md has 16 seeds. The suite's slowest
    # test on the 4x4-codec organisms (103 s alone, stop 38; ~20 s on v2's 8x8 codec)
    seeds = [EVAL_SEED_OFFSET + i for i in range(6)]
    table = evaluate.evaluate_organisms([("f1", "vanilla")], seeds=seeds, multiples=(1, 8), progress=False)
    drift = evaluate.drift_table(table).set_index(["measure", "multiple"])
    assert drift.loc[("drift_hist", 8), "above_1x"], drift.to_string()
    assert drift.loc[("drift_background", 8), "above_1x"], drift.to_string()


@pytest.mark.skipif("f1" not in SHIPPED, reason="f1 organism not shipped")
def test_organism_is_a_real_pipeline_fpkit_sample_matches_it():
    pipe = organism.load_organism("f1")
    kwargs = dict(image=world.start_image(EVAL_SEED_OFFSET), prompt=organism.PROMPT, height=64, width=64,
                  num_frames=8, latent_window_size=4, num_inference_steps=3, sampling_type="vanilla")
    expected = pipe(**kwargs, generator=torch.Generator().manual_seed(0), output_type="pt").frames[0]
    run = fpkit.sample(pipe, **kwargs, generator=torch.Generator().manual_seed(0))
    assert torch.equal(run.video, expected)


def test_recipes_at_equal_steps_pairs_seeds_at_shared_steps_only():
    rows = []
    for run, shift in (("base", 0.0), ("new", 0.1)):
        for step in ((2, 4) if run == "base" else (4, 6)):
            rows += [dict(run=run, step=step, seed=s, measure="hist_distance", value=0.2 + 0.01 * s - shift)
                     for s in range(6)]
    paired = evaluate.recipes_at_equal_steps(pd.DataFrame(rows), "base")
    assert paired[["run", "step", "seeds"]].values.tolist() == [["new", 4, 6]]  # step 4 is the only one shared
    row = paired.iloc[0]
    assert row.difference == pytest.approx(-0.1) and row.low == pytest.approx(-0.1) and row.high == pytest.approx(-0.1)
    assert row.median_run == pytest.approx(0.125) and row.median_baseline == pytest.approx(0.225)
    with pytest.raises(ValueError, match="baseline 'other'"):
        evaluate.recipes_at_equal_steps(pd.DataFrame(rows), "other")


def test_cli_curve_compares_two_recipes_at_equal_steps(tmp_path, capsys):
    from fpkit.toy.cli import main

    for name, extra in (("base", []), ("c4", ["--codec-patch", "4"])):
        assert main(["train", "--variant", "f1", "--batch-size", "2", "--no-progress", "--steps", "2",
                     "--snapshot-every", "2", "--out", str(tmp_path / name), *extra]) == 0
    out = tmp_path / "curve"
    runs = [str(tmp_path / "base"), str(tmp_path / "c4")]
    assert main(["curve", *runs, "--seeds", "2", "--out", str(out), "--baseline", "base"]) == 0
    table = pd.read_csv(out / "likeness_vs_steps.csv")
    assert set(table.run) == {"base", "c4"} and set(table.step) == {2}
    paired = pd.read_csv(out / "paired.csv").set_index("measure")
    assert set(paired.run) == {"c4"} and (paired.loc[["hist_distance", "background_error"], "seeds"] == 2).all()
    assert paired.seeds.max() == 2  # measures undefined on a seed (speed without a visible sprite) drop out
    hist = table[table.measure == "hist_distance"].pivot(index="seed", columns="run", values="value")
    assert paired.loc["hist_distance", "difference"] == pytest.approx((hist.c4 - hist.base).median())
    assert (out / "training_curves.png").stat().st_size > 0
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # the command closed its figure
    assert (table.noise_seed == table.seed).all() and "one noise draw per start image" in capsys.readouterr().out
    assert main(["curve", runs[0], "--seeds", "2", "--noise", "shared", "--out", str(tmp_path / "shared")]) == 0
    shared = pd.read_csv(tmp_path / "shared" / "likeness_vs_steps.csv").set_index(["seed", "measure"])
    assert (shared.noise_seed == 0).all()
    mine = table[table.run == "base"].set_index(["seed", "measure"])
    assert not np.allclose(shared.loc[mine.index, "value"], mine.value, equal_nan=True)  # other draws
    assert main(["curve", *runs, "--baseline", "nope", "--out", str(out)]) == 2
    assert "--baseline 'nope' is not one of the runs" in capsys.readouterr().err
    assert main(["curve", runs[0], runs[0], "--out", str(out)]) == 2


class _NoText:  # a Conditioning stand-in for loss tests: no text inputs
    def text(self, index):
        return {}


def _zero_model(hidden_states, **kwargs):  # predicts 0: the loss is the mean of (noise - x0) ** 2
    return (torch.zeros_like(hidden_states),)


def test_motion_weight_counts_moving_latent_pixels_more_and_keeps_the_scale():
    from fpkit.toy.train import TrainConfig, flow_matching_loss, section_batch

    x0 = torch.zeros(1, 2, 1, 2, 2)
    noise = torch.ones(1, 2, 1, 2, 2)
    noise[..., 0, 0] = 3.0  # the one moving pixel carries the larger error (9 vs 1)
    motion = torch.zeros(1, 1, 1, 2, 2)
    still = {"x0": x0, "context": {}, "motion": motion}
    moved = motion.clone()
    moved[..., 0, 0] = 1.0
    moving = {"x0": x0, "context": {}, "motion": moved}
    args = (torch.zeros(1, dtype=torch.long), None, torch.full((1,), 0.5), noise)
    plain = flow_matching_loss(_zero_model, _NoText(), still, *args)
    assert plain.item() == pytest.approx((9 + 3) / 4)
    assert flow_matching_loss(_zero_model, _NoText(), still, *args, motion_weight=10).item() == pytest.approx(plain.item())
    weighted = flow_matching_loss(_zero_model, _NoText(), moving, *args, motion_weight=10).item()
    assert weighted == pytest.approx((11 * 9 + 3) / 14)  # weights 11, 1, 1, 1, normalised to mean 1
    with pytest.raises(ValueError, match="motion_weight"):
        TrainConfig(motion_weight=float("nan"))
    # the motion map is the frame-to-frame change of the clip's own latents
    from fpkit.toy.train import VARIANTS, draw_plan

    the_plan, order = draw_plan(VARIANTS["f1"], np.random.default_rng(0), (4, 4), 2)
    a, b = the_plan.sections[order].window
    still_clip = torch.randn(1, 3, 1, 4, 4).expand(1, 3, the_plan.num_latents, 4, 4).clone()
    assert a >= 1 and torch.equal(section_batch(the_plan, order, still_clip)["motion"], torch.zeros(1, 1, b - a, 4, 4))
    jump = still_clip.clone()
    jump[:, :, a:, 1, 2] += 2.0  # one latent pixel changes by 2 in every channel as the window starts
    motion = section_batch(the_plan, order, jump)["motion"]
    assert motion[0, 0, 0, 1, 2] == pytest.approx(2.0) and motion.sum() == pytest.approx(2.0)


def test_displacement_weight_counts_pixels_that_left_the_start_image_more_and_adds_to_motion_weight():
    from fpkit.toy.train import VARIANTS, TrainConfig, draw_plan, flow_matching_loss, section_batch

    x0, noise = torch.zeros(1, 2, 1, 2, 2), torch.ones(1, 2, 1, 2, 2)
    noise[..., 0, 0] = 3.0  # errors 9, 1, 1, 1
    zeros = torch.zeros(1, 1, 1, 2, 2)
    moved, displaced = zeros.clone(), zeros.clone()
    moved[..., 0, 0] = 1.0  # the pixel with the large error moved since the last frame...
    displaced[..., 1, 1] = 2.0  # ...and another one differs from the start image by 2
    batch = {"x0": x0, "context": {}, "motion": moved, "displacement": displaced}
    args = (torch.zeros(1, dtype=torch.long), None, torch.full((1,), 0.5), noise)
    assert flow_matching_loss(_zero_model, _NoText(), batch, *args).item() == pytest.approx(12 / 4)  # plain MSE
    assert flow_matching_loss(_zero_model, _NoText(), batch, *args, displacement_weight=3).item() == \
        pytest.approx((9 + 1 + 1 + 7 * 1) / 10)  # weights 1, 1, 1, 7
    both = flow_matching_loss(_zero_model, _NoText(), batch, *args, motion_weight=10, displacement_weight=3).item()
    assert both == pytest.approx((11 * 9 + 1 + 1 + 7) / 20)  # the two weights add
    for bad in (float("nan"), -1.0, float("inf"), True, "3"):
        with pytest.raises(ValueError, match=f"displacement_weight must be a finite number >= 0, got {bad!r}"):
            TrainConfig(displacement_weight=bad)
    # the displacement map is each window frame's change since the start image (frame 0), on the far
    # end of an inverted plan as on any later section
    rng = np.random.default_rng(0)
    for _ in range(6):
        the_plan, order = draw_plan(VARIANTS["inverted"], rng, (4, 4), 2)
        a, b = the_plan.sections[order].window
        clip = torch.randn(1, 3, 1, 4, 4).expand(1, 3, the_plan.num_latents + 1, 4, 4).clone()
        assert torch.equal(section_batch(the_plan, order, clip)["displacement"], torch.zeros(1, 1, b - a, 4, 4))
        clip[:, :, 1:, 2, 3] -= 1.5  # a pixel changes right after the start image and stays changed
        displacement = section_batch(the_plan, order, clip)["displacement"]
        assert torch.allclose(displacement[0, 0, :, 2, 3], torch.full((b - a,), 1.5)) and \
            displacement.sum() == pytest.approx(1.5 * (b - a))


def test_logit_mean_moves_training_to_high_noise_and_zero_keeps_the_shipped_draw():
    from fpkit.schedule import shift_sigmas
    from fpkit.toy.train import TrainConfig, draw_sigmas

    shift = 1.6487  # the sampler's shift for the organism's window (meta.json flow_shift)
    shipped = draw_sigmas(4000, torch.Generator().manual_seed(0), TrainConfig(), shift)
    u = torch.randn(4000, generator=torch.Generator().manual_seed(0))  # the draw every shipped run used
    assert torch.equal(shipped, torch.from_numpy(shift_sigmas(torch.sigmoid(u).numpy(), shift)).float())
    high = draw_sigmas(4000, torch.Generator().manual_seed(0), TrainConfig(logit_normal_mean=1.0), shift)
    assert 0 < high.min() and high.max() < 1
    # share of steps above s = 0.8: Phi(-0.92) = 0.18 at mean 0, Phi(0.08) = 0.53 at mean 1
    assert (shipped > 0.8).float().mean().item() == pytest.approx(0.18, abs=0.03)
    assert (high > 0.8).float().mean().item() == pytest.approx(0.53, abs=0.03)
    for bad in (float("nan"), float("inf"), 5.0, "1"):
        with pytest.raises(ValueError, match="logit_normal_mean"):
            TrainConfig(logit_normal_mean=bad)


# ---------------------------------------------------------------------------------------------
# Heading prompts (`--heading-prompt`)


def test_heading_words_and_hue_names_known_answers():
    # image coordinates: y grows downwards
    assert [world.heading_word(*d) for d in ((1, 0), (0, 1), (-1, 0), (0, -1), (-1, -1), (1, -1), (1, 0.3))] == \
        ["right", "down", "left", "up", "up left", "up right", "right"]
    assert [world.hue_name(c) for c in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0.5, 0),
                                        (0.95, 0, 0.1))] == ["red", "green", "blue", "yellow", "cyan", "orange", "red"]


def test_heading_prompt_tells_each_sprite_where_it_goes_in_words_the_organism_knows():
    tokenizer = organism.toy_tokenizer()
    unk = tokenizer.convert_tokens_to_ids("<unk>")
    agree, total = 0, 0
    for seed in range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 60):
        text = world.heading_prompt(seed)
        assert text == world.heading_prompt(seed)  # deterministic
        assert unk not in tokenizer(text).input_ids, text  # every word is in the organism's vocabulary
        clip = world.render_clip(seed, 5)
        parts = text.split(" and ")
        assert len(parts) == clip.positions.shape[1]
        for k, part in enumerate(parts):
            words = part.split()
            assert words[0] == world.hue_name(clip.colours[k]) and words[1] == clip.shapes[k] and words[2] == "moves"
            heading = " ".join(words[3:-1])
            angle = world.HEADINGS.index(heading) * np.pi / 4
            d = (clip.positions[4, k] - clip.positions[0, k]).numpy()  # the real move over 4 frames
            agree += float(np.dot(d, [np.cos(angle), np.sin(angle)]) / np.linalg.norm(d)) > np.cos(np.pi / 8) - 1e-6
            total += 1
            speed = float(np.linalg.norm(clip.positions[1, k] - clip.positions[0, k]))
            assert words[-1] == ("slow" if speed < 0.7 else "fast")
    assert agree >= 0.9 * total  # within its 45-degree sector unless the sprite bounces within 4 frames


def test_heading_prompt_config_is_validated():
    for bad in (-0.1, 1.5, float("nan"), "half"):
        with pytest.raises(ValueError, match="heading_prompt"):
            train.TrainConfig(heading_prompt=bad)


def test_conditioning_encodes_any_prompt_as_the_bank_does():
    pipe, cond, data, _ = train.setup(train.VARIANTS["f1"], 0, train.TrainConfig(), world.WorldSpec())
    batch, first = data.batch(2)
    assert list(batch["seeds"]) and len(batch["seeds"]) == 2  # the clips' seeds travel with the batch
    sigma, noise = torch.tensor([0.3, 0.7]), torch.randn(batch["x0"].shape, generator=torch.Generator().manual_seed(0))
    bank = [organism.PROMPT_BANK.index(p) for p in (organism.PROMPT, "a video")]
    with torch.no_grad():
        a = train.flow_matching_loss(pipe.transformer, cond, batch, torch.tensor(bank), cond.image(first), sigma, noise)
        b = train.flow_matching_loss(pipe.transformer, cond, batch, [organism.PROMPT, "a video"], cond.image(first),
                                     sigma, noise)
        heading = [world.heading_prompt(int(s)) for s in batch["seeds"]]
        c = train.flow_matching_loss(pipe.transformer, cond, batch, heading, cond.image(first), sigma, noise)
    assert abs(a.item() - b.item()) < 1e-5 * abs(a.item())  # padding is masked: bank and free prompts agree
    assert abs(c.item() - a.item()) > 1e-6  # and the words reach the model


def test_cli_heading_prompt_trains_and_samples_with_the_start_images_words(tmp_path, monkeypatch):
    from fpkit.toy.cli import main

    out = tmp_path / "hp"
    assert main(["train", "--variant", "f1", "--steps", "2", "--batch-size", "2", "--no-progress", "--out", str(out),
                 "--heading-prompt", "1"]) == 0
    assert json.loads((out / "config.json").read_text())["train"]["heading_prompt"] == 1
    pipe = organism.load_organism(str(out))
    seed = EVAL_SEED_OFFSET + 3
    assert evaluate.prompt_for(pipe, seed) == world.heading_prompt(seed)
    assert evaluate.prompt_for(pipe, seed, "generic") == organism.PROMPT
    seen = []
    real_sample = fpkit.sample
    monkeypatch.setattr(fpkit, "sample", lambda *a, **k: seen.append(k["prompt"]) or real_sample(*a, **k))
    evaluate.generate(pipe, seed, 1, num_inference_steps=1)
    evaluate.generate(pipe, seed, 1, num_inference_steps=1, prompt="generic")
    assert seen == [world.heading_prompt(seed), organism.PROMPT]
    # the control: every heading turned round, the rest of the words as they were
    flip = {"up": "down", "down": "up", "left": "right", "right": "left"}
    for s in range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 40):
        assert world.heading_prompt(s, reverse=True) == " ".join(flip.get(w, w) for w in world.heading_prompt(s).split())
    assert evaluate.prompt_for(pipe, seed, "reversed") == world.heading_prompt(seed, reverse=True) != world.heading_prompt(seed)
    with pytest.raises(ValueError, match="'words'"):
        evaluate.prompt_for(pipe, seed, "words")
    with pytest.raises(SystemExit):
        main(["train", "--variant", "f1", "--steps", "2", "--no-progress", "--out", str(tmp_path / "x"),
              "--heading-prompt", "2"])
    for variant in SHIPPED:  # organisms trained without heading words keep their generic prompt (v4: inverted)
        words = organism.read_config(variant)["train"].get("heading_prompt", 0) > 0
        expected = world.heading_prompt(seed) if words else organism.PROMPT
        assert evaluate.prompt_for(organism.load_organism(variant), seed) == expected, variant
