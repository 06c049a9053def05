"""Plans against the released layouts (facts file + diffusers 0.42), index by index."""

import pytest

from fpkit.planning import (
    HistorySpec,
    Plan,
    latent_paddings,
    latent_to_frames,
    num_sections_for,
    plan,
    sections_for_seconds,
    slot_tokens,
)


def diffusers_oracle(strategy, n, lws, has_last=False):
    """Symbolic replay of HunyuanVideoFramepackPipeline's history buffers with position labels
    instead of tensors (None = zeros, 'L' = last image): what each section feeds the transformer."""
    history = [None] * 19
    if strategy == "vanilla":
        history = history + [0]
    out = []
    next_pos = {}
    for k in range(n):
        if strategy == "inverted_anti_drifting":
            paddings = list(reversed(range(n))) if n <= 4 else [3] + [2] * (n - 3) + [1, 0]
            pad = paddings[k] * lws
            idx = list(range(1 + pad + lws + 19))
            prefix, rest = idx[:1], idx[1 + pad:]
            noisy, h1, h2, h4 = rest[:lws], rest[lws:lws + 1], rest[lws + 1:lws + 3], rest[lws + 3:]
            s1, s2, s4 = history[:1], history[1:3], history[3:19]
            if has_last and k == 0:
                s1 = ["L"]
            t = n - 1 - k
            window = list(range(1 + t * lws, 1 + (t + 1) * lws))
            out.append(dict(clean=([0] + s1, prefix + h1), x2=(s2, h2), x4=(s4, h4), noisy=noisy, pad=paddings[k]))
            new = ([0] if k == n - 1 else []) + window
            history = new + history
        else:
            idx = list(range(1 + 19 + lws))
            prefix, h4, h2, h1, noisy = idx[:1], idx[1:17], idx[17:19], idx[19:20], idx[20:]
            s4, s2, s1 = history[-19:-3], history[-3:-1], history[-1:]
            window = list(range(1 + k * lws, 1 + (k + 1) * lws))
            out.append(dict(clean=([0] + s1, prefix + h1), x2=(s2, h2), x4=(s4, h4), noisy=noisy, pad=None))
            history = history + window
        next_pos[k] = window
    return out


@pytest.mark.parametrize("strategy", ["vanilla", "inverted_anti_drifting"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("lws", [1, 3, 9])
def test_released_layouts_match_diffusers_buffers(strategy, n, lws):
    for has_last in ([False, True] if strategy == "inverted_anti_drifting" else [False]):
        p = plan(strategy, n, lws, (8, 8), has_last_image=has_last)
        oracle = diffusers_oracle(strategy, n, lws, has_last)
        end = p.num_latents
        for section, want in zip(p.sections, oracle):
            got = section.inputs()
            clean_src = [("L" if s == end and has_last else s) for s in got["clean"][0]]
            assert (clean_src, got["clean"][1]) == (want["clean"][0], want["clean"][1])
            assert tuple(map(list, got["history_2x"])) == tuple(map(list, want["x2"]))
            assert tuple(map(list, got["history_4x"])) == tuple(map(list, want["x4"]))
            assert got["noisy"][1] == want["noisy"]
            assert section.padding == want["pad"]


def test_inverted_paddings_released_rule():
    assert latent_paddings(1) == [0]
    assert latent_paddings(4) == [3, 2, 1, 0]
    assert latent_paddings(5) == [3, 2, 2, 1, 0]
    assert latent_paddings(8) == [3, 2, 2, 2, 2, 2, 1, 0]
    assert latent_paddings(8, "true") == [7, 6, 5, 4, 3, 2, 1, 0]


def test_inverted_facts_index_by_index():
    lws = 9
    p = plan("inverted_anti_drifting", 6, lws, (60, 104))
    first, middle, last = p.sections[0], p.sections[2], p.sections[-1]
    # First generated = temporal end; gap 3 windows; the whole future context is zeros.
    assert first.index == 5 and first.padding == 3
    kinds = [(s.kind, s.compression, s.frames) for s in first.slots]
    assert kinds == [("anchor", "k1", 1), ("gap", "", 27), ("noisy", "k1", 9), ("history", "k1", 1),
                     ("history", "k2", 2), ("history", "k4", 16)]
    assert first.slots[2].rope == tuple(range(28, 37))
    assert all(s is None for sl in first.slots[3:] for s in sl.sources)
    # Middle sections: gap 2 windows; 1x = the frame right after the window, then 2x, 4x.
    assert middle.padding == 2 and middle.slots[1].frames == 18
    assert middle.slots[3].sources == (middle.window[1],)
    assert middle.slots[4].sources == (middle.window[1] + 1, middle.window[1] + 2)
    # 4x zeros remain until >= 19 real latents exist after the window.
    assert p.sections[1].slots[5].sources[-1] is None  # only 9 generated latents after section 1's window
    assert all(s is not None for s in p.sections[3].slots[5].sources)
    # Last generated = temporal start: no gap.
    assert last.index == 0 and last.padding == 0 and last.slots[1].frames == 0
    assert last.layout == "f1k1_g9_f1k1f2k2f16k4_td"
    assert first.layout == "f1k1_x_g9_f1k1f2k2f16k4_td"


def test_vanilla_facts_index_by_index():
    p = plan("vanilla", 3, 9, (60, 104))
    s0, s2 = p.sections[0], p.sections[2]
    ropes = [s.rope for s in s0.slots]
    assert ropes == [(0,), tuple(range(1, 17)), (17, 18), (19,), tuple(range(20, 29))]
    # First section: 4x and 2x are zeros, 1x is the start latent (history = zeros(19) + start).
    assert s0.slots[1].sources == (None,) * 16 and s0.slots[2].sources == (None, None)
    assert s0.slots[3].sources == (0,)
    # Third section: the newest 19 canvas frames before its window.
    ws = s2.window[0]
    assert s2.slots[3].sources == (ws - 1,) and s2.slots[2].sources == (ws - 3, ws - 2)
    assert s2.slots[1].sources == tuple(p if p >= 0 else None for p in range(ws - 19, ws - 3))
    assert s0.layout == "f1k1_td_f16k4f2k2f1k1_g9"
    assert all(s.slots[0].rope == (0,) and s.slots[0].sources == (0,) for s in p.sections)


def test_token_budget_matches_facts_example():
    # 608x640 -> latent 76x80: noisy 9 frames 13,680; clean 2 frames 3,040; 2x 380; 4x 400.
    p = plan("inverted_anti_drifting", 2, 9, (76, 80))
    assert p.sections[0].tokens() == {"history_4x": 400, "history_2x": 380, "clean": 3040, "noisy": 13680}
    assert p.sections[0].total_tokens == 17500
    assert slot_tokens(19, "k1", (76, 80)) == 28880  # the uncompressed alternative


def test_kernel_padding_rounds_up():
    assert slot_tokens(16, "k4", (60, 104)) == 4 * 8 * 13  # 60/8 -> 8, 104/8 -> 13
    assert slot_tokens(3, "k2", (6, 6)) == 2 * 2 * 2


def test_anti_drifting_order_and_both_sides_context():
    n, lws = 5, 3
    p = plan("anti_drifting", n, lws, (8, 8))
    assert [s.index for s in p.sections] == [0, 4, 1, 2, 3]
    generated = {0}
    for s in p.sections:
        for slot in s.slots:
            if slot.kind in ("anchor", "history"):
                assert all(src is None or src in generated for src in slot.sources), (s.order, slot)
        generated.update(range(*s.window))
    fills = p.sections[2:]
    for s in fills:
        past = [sl for sl in s.slots if sl.kind == "history" and sl.side == "past"]
        future = [sl for sl in s.slots if sl.kind == "history" and sl.side == "future"]
        assert past and past[0].sources == (s.window[0] - 1,)
        assert future[0].sources[0] is not None  # the end section (or nearer fills) on the other side
        noisy = s.noisy.rope
        assert past[0].rope == (noisy[0] - 1,)
        # future RoPE keeps the true distance to the first known frame after the window
        assert future[0].rope[0] - noisy[-1] == future[0].sources[0] - (s.window[1] - 1)


@pytest.mark.parametrize("strategy", ["vanilla", "inverted_anti_drifting", "anti_drifting"])
def test_windows_tile_the_canvas_once(strategy):
    p = plan(strategy, 6, 4, (8, 8))
    covered = sorted(i for s in p.sections for i in range(*s.window))
    assert covered == list(range(1, p.num_latents))
    assert sorted(s.order for s in p.sections) == list(range(6))
    assert p.decode[0].side == "init"


def test_history_spec_changes_layout():
    p = plan("vanilla", 2, 4, (16, 16), history=HistorySpec(k1=2, k2=4, k4=8))
    s = p.sections[0]
    assert [sl.frames for sl in s.slots] == [1, 8, 4, 2, 4]
    assert s.layout == "f1k1_td_f8k4f4k2f2k1_g4"
    with pytest.raises(ValueError, match="k4"):
        HistorySpec(k4=-1)
    with pytest.raises(ValueError, match="padding rule 'nope'"):
        HistorySpec(padding="nope")


def test_plan_round_trips_and_prints():
    p = plan("anti_drifting", 4, 3, (8, 12), has_last_image=True)
    assert Plan.from_dict(p.to_dict()) == p
    text = str(p)
    assert "anti_drifting" in text and p.sections[2].layout in text


def test_plan_rejects_bad_input():
    with pytest.raises(ValueError, match="'sideways'"):
        plan("sideways", 2)
    with pytest.raises(ValueError, match="latent_window_size must be an int >= 1, got 0"):
        plan("vanilla", 2, 0)
    with pytest.raises(ValueError, match="does not take a last_image"):
        plan("vanilla", 2, 3, has_last_image=True)


def test_section_arithmetic():
    assert num_sections_for(33, 3) == 4  # 9-frame windows; the video will have 4*3*4+1 = 49 frames
    assert plan("vanilla", 4, 3, (8, 8)).num_frames(4) == 49
    assert num_sections_for(1, 9) == 1
    assert sections_for_seconds(5, 9) == 4  # 150/36 = 4.17
    assert sections_for_seconds(1.2, 9) == 1  # round(1.0) (banker's rounding leaves 0.5 -> 0; max 1)
    assert list(latent_to_frames(0, 4)) == [0] and list(latent_to_frames(2, 4)) == [5, 6, 7, 8]


def test_check_int_takes_python_and_numpy_integers_and_names_anything_else():
    import numpy as np
    import torch

    from fpkit.planning import check_int

    assert check_int("n", 3, 1) == 3 and type(check_int("n", np.int64(3), 1)) is int
    for bad in (True, 1.0, "2", torch.tensor(3), 0, -1, None, float("nan")):
        with pytest.raises(ValueError, match=r"n must be an int >= 1, got "):
            check_int("n", bad, 1)
