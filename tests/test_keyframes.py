"""Keyframes (paper Fig. 2d, a timeline of images): planning order and context, pinned latents."""

import pytest
import torch

import fpkit
from fpkit.planning import Plan, plan
from helpers import base_kwargs, gen, make_image


def test_sections_holding_keyframes_come_first_then_the_end_then_forward():
    p = plan("keyframes", 6, 3, (8, 8), keyframes=(8, 14))  # windows 1-3, 4-6, 7-9, 10-12, 13-15, 16-18
    assert [s.index for s in p.sections] == [2, 4, 5, 0, 1, 3]
    known = {0, 8, 14}
    for s in p.sections:
        ws, we = s.window
        for slot in s.slots:
            if slot.kind in ("anchor", "history"):
                assert all(src is None or src in known for src in slot.sources), (s.order, slot)
                # a keyframe inside the window is pinned there, not read as context at the same time
                assert not any(src is not None and ws <= src < we for src in slot.sources)
        known.update(range(ws, we))


def test_keyframes_are_context_on_both_sides_at_true_distances():
    p = plan("keyframes", 4, 3, (8, 8), keyframes=(7,))  # keyframe in window 2 (7-9)
    before = next(s for s in p.sections if s.index == 1)  # window 4-6: the keyframe is the next frame
    future = [sl for sl in before.slots if sl.kind == "history" and sl.side == "future"]
    assert future[0].sources[0] == 7
    assert future[0].rope[0] == before.noisy.rope[-1] + 1
    after = next(s for s in p.sections if s.index == 3)  # window 10-12 reads frame 9 (keyframe's window)
    past = [sl for sl in after.slots if sl.kind == "history" and sl.side == "past"]
    assert past and past[0].sources == (9,)


def test_plan_round_trips_with_keyframes():
    p = plan("keyframes", 4, 3, (8, 12), has_last_image=True, keyframes=(5, 9))
    assert Plan.from_dict(p.to_dict()) == p and p.keyframes == (5, 9)
    covered = sorted(i for s in p.sections for i in range(*s.window))
    assert covered == list(range(1, p.num_latents))


@pytest.mark.parametrize("strategy, keyframes, match", [
    ("keyframes", (), "needs at least one keyframe"),
    ("keyframes", (0,), r"keyframe position must be an int in \[1, 12\].*got 0"),
    ("keyframes", (13,), r"got 13"),
    ("keyframes", (4, 4), "repeat"),
    ("keyframes", (2.0,), "got 2.0"),
    ("anti_drifting", (4,), "keyframes are for sampling type 'keyframes', not 'anti_drifting'"),
])
def test_plan_rejects_bad_keyframes(strategy, keyframes, match):
    with pytest.raises(ValueError, match=match):
        plan(strategy, 4, 3, (8, 8), keyframes=keyframes)


def _latent(pipe, g, img):
    pixels = pipe.video_processor.preprocess(img, 32, 48)
    return pipe.prepare_image_latents(pixels, dtype=torch.float32, device="cpu", generator=g)


def test_the_video_passes_through_every_keyframe_exactly(tiny_pipe, image):
    keys = {13: make_image(5), 30: make_image(6)}  # pixel frames -> latents ceil(13/4) = 4, ceil(30/4) = 8
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="keyframes", num_frames=33),
                       generator=gen(0), keyframes=keys)
    assert run.trace.plan.keyframes == (4, 8) and run.trace.settings["keyframes"] == [4, 8]
    g = gen(0)
    _latent(tiny_pipe, g, image)  # the generator is consumed in the sampler's order: start, then keyframes
    for position, img in sorted(zip((4, 8), keys.values())):
        assert torch.equal(run.latents[:, :, position:position + 1], _latent(tiny_pipe, g, img))
    # the frames around a keyframe are generated, not copies of it
    assert not torch.equal(run.latents[:, :, 5:6], run.latents[:, :, 4:5])
    # another keyframe image changes the whole video, not only its own latent
    other = fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="keyframes", num_frames=33),
                         generator=gen(0), keyframes={13: make_image(7), 30: keys[30]})
    assert not torch.equal(other.latents[:, :, 1:4], run.latents[:, :, 1:4])  # window 1-3 reads it as context


def test_a_keyframe_at_the_end_is_not_anti_drifting(tiny_pipe, image):
    """The same windows as anti-drifting, but the end section (holding the keyframe) comes first
    with its last frame pinned, and the start section reads the keyframe: the videos differ."""
    kw = base_kwargs(image, num_frames=17)  # 2 sections x 3 latents: windows 1-3, 4-6
    anti = fpkit.sample(tiny_pipe, **kw | {"sampling_type": "anti_drifting"}, generator=gen(0))
    key = fpkit.sample(tiny_pipe, **kw | {"sampling_type": "keyframes"}, generator=gen(0), keyframes={24: image})
    assert key.trace.plan.keyframes == (6,)
    assert not torch.equal(anti.latents, key.latents)


@pytest.mark.parametrize("keyframes, match", [
    ({0: "x"}, r"keyframe frame must be an int in \[1, 24\].*got 0"),
    ({25: "x"}, "got 25"),
    ({5: "x", 7: "y"}, r"frames \[5, 7\] fall in the same latent frame 2"),
    ([5], "keyframes must be a dict"),
    ({5: None}, "keyframe at frame 5 has no image"),
])
def test_bad_keyframes_fail_before_any_model_runs(tiny_pipe, image, keyframes, match):
    calls = []
    hook = tiny_pipe.transformer.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        with pytest.raises(ValueError, match=match):
            fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="keyframes"), generator=gen(0),
                         keyframes=keyframes)
    finally:
        hook.remove()
    assert calls == []


def test_keyframes_need_their_sampling_type(tiny_pipe, image):
    with pytest.raises(ValueError, match="keyframes are for sampling type 'keyframes', not 'vanilla'"):
        fpkit.sample(tiny_pipe, **base_kwargs(image), generator=gen(0), keyframes={5: image})
    with pytest.raises(ValueError, match="needs at least one keyframe"):
        fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="keyframes"), generator=gen(0))


def test_toy_keyframe_specs_are_frames_of_the_runs_own_clip(tmp_path):
    import numpy as np

    from fpkit.experiment.grid import keyframe_specs
    from fpkit.experiment.inputs import image_input, load_image
    from fpkit.toy.world import render_clip

    assert keyframe_specs('{"8":"clip","20":"builtin:discs"}', "toy:1000000003") == {
        8: "toy:1000000003@8", 20: "builtin:discs"}
    img = load_image("toy:1000000003@8", tmp_path, 64, 64)
    assert np.array_equal(np.asarray(img), np.asarray(render_clip(1000000003, 9).image(8)))
    assert image_input("k", "toy:1000000003@8", tmp_path).digest != image_input("k", "toy:1000000003", tmp_path).digest
    with pytest.raises(ValueError, match="toy:<seed>@<frame> with integers"):
        image_input("k", "toy:3@x", tmp_path)
