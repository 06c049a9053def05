"""Attention to the packed context (fpkit.attention): recording leaves the video bit-identical; the
recorded mass equals a brute-force softmax(QK^T) from the processor's own q and k; it sums to 1."""

import math

import pytest
import torch

import fpkit
from fpkit.attention import AttentionConfig
from fpkit.trace import Trace
from helpers import base_kwargs, gen

KW = dict(num_inference_steps=2)


@pytest.mark.parametrize("sampling_type", ["vanilla", "inverted_anti_drifting", "keyframes"])
def test_recording_attention_leaves_the_video_bit_identical(tiny_pipe, image, sampling_type):
    extra = {"keyframes": {5: image}} if sampling_type == "keyframes" else {}
    kw = base_kwargs(image, **KW, sampling_type=sampling_type)
    plain = fpkit.sample(tiny_pipe, **kw, generator=gen(0), **extra)
    recorded = fpkit.sample(tiny_pipe, **kw, generator=gen(0), record="attention", **extra)
    assert torch.equal(plain.video, recorded.video) and torch.equal(plain.latents, recorded.latents)
    assert all(rec.attention is not None for rec in recorded.trace.sections)
    assert plain.trace.sections[0].attention is None
    # true CFG (two transformer calls a step) is recorded once per step and stays identical too
    cfg = dict(negative_prompt="blur", true_cfg_scale=2.0)
    a = fpkit.sample(tiny_pipe, **kw, **cfg, generator=gen(1), **extra)
    b = fpkit.sample(tiny_pipe, **kw, **cfg, generator=gen(1), attention=True, **extra)
    assert torch.equal(a.video, b.video)
    assert b.trace.sections[0].attention.shape[0] == KW["num_inference_steps"]


def test_mass_sums_to_one_and_every_slot_gets_a_share(tiny_pipe, image):
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, **KW), generator=gen(0),
                       attention=AttentionConfig(queries=8, per_head=True))
    frame = run.trace.to_frame("attention")
    assert set(frame.columns) >= {"order", "index", "step", "block", "head", "slot", "kind", "mass"}
    sums = frame.groupby(["order", "step", "block", "head"]).mass.sum()
    assert ((sums - 1).abs() < 1e-5).all()
    blocks = run.trace.settings["attention"]["blocks"]
    t = tiny_pipe.transformer
    assert blocks == [f"double.{i}" for i in range(len(t.transformer_blocks))] + \
        [f"single.{i}" for i in range(len(t.single_transformer_blocks))]
    assert frame["head"].nunique() == t.config.num_attention_heads
    first = run.trace.sections[0]  # vanilla's first section: every history slot reads all-zero canvas frames
    zero_slots = [str(i) for i, s in enumerate(first.plan.slots)
                  if s.kind == "history" and s.tokens and all(src is None for src in s.sources)]
    assert zero_slots
    shares = frame[(frame.order == 0) & frame.slot.isin(zero_slots)].mass
    assert (shares > 0).all()  # zeros in the canvas are still keys (patch-embedding bias, RoPE)
    assert set(frame[frame.order == 0].kind) == {"anchor", "history", "noisy", "image", "text"}


def test_recorded_mass_equals_brute_force_softmax_of_the_processors_q_and_k(tiny_pipe, image, monkeypatch):
    import diffusers.models.transformers.transformer_hunyuan_video as hv

    captured = []
    original = hv.dispatch_attention_fn

    def spy(query, key, value, *args, **kwargs):
        captured.append((query.detach().double(), key.detach().double()))
        return original(query, key, value, *args, **kwargs)

    monkeypatch.setattr(hv, "dispatch_attention_fn", spy)
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, num_inference_steps=1, num_frames=9), generator=gen(0),
                       attention=AttentionConfig(queries=0, per_head=True, chunk=5))
    rec = run.trace.sections[0]
    segments = rec.attention_segments
    sizes = [rec.plan.slots[int(s)].tokens if s.isdigit() else None for s in segments]
    text_and_image = captured[0][1].shape[1] - sum(n for n in sizes if n)
    image_tokens = run.trace.settings["attention"]["image_tokens"]
    sizes[-2:] = [image_tokens, text_and_image - image_tokens]
    bounds = [0]
    for n in sizes:
        bounds.append(bounds[-1] + n)
    calls = [c for c in captured if c[1].shape[1] == bounds[-1]][:len(run.trace.settings["attention"]["blocks"])]
    assert len(calls) == rec.attention.shape[1]  # one packed-sequence call per block (the refiner's are shorter)
    noisy = rec.plan.noisy.tokens
    latent = sum(n for s, n in zip(segments, sizes) if s.isdigit())
    for b, (q, k) in enumerate(calls):
        q = q[:, latent - noisy:latent]  # (B, nq, H, D): the noisy window's queries
        p = torch.softmax(torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1]), dim=-1)
        want = torch.stack([p[..., a:z].sum(-1) for a, z in zip(bounds, bounds[1:])], -1).mean(2)[0]  # (H, S)
        got = rec.attention[0, b].double()
        assert (got - want).abs().max() <= 1e-5, (b, (got - want).abs().max())


def test_attention_round_trips_through_save_and_load(tiny_pipe, image, tmp_path):
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, **KW, sampling_type="inverted_anti_drifting"),
                       generator=gen(0), record="attention")
    run.trace.save(tmp_path / "t")
    back = Trace.load(tmp_path / "t")
    assert back == run.trace
    assert back.sections[0].attention_segments == run.trace.sections[0].attention_segments
    assert back.to_frame("attention").equals(run.trace.to_frame("attention"))


def test_nothing_stays_installed_and_bad_configs_fail_first(tiny_pipe, image):
    procs = [b.attn.processor for b in [*tiny_pipe.transformer.transformer_blocks,
                                        *tiny_pipe.transformer.single_transformer_blocks]]
    fpkit.sample(tiny_pipe, **base_kwargs(image, **KW), generator=gen(0), record="attention")
    after = [b.attn.processor for b in [*tiny_pipe.transformer.transformer_blocks,
                                        *tiny_pipe.transformer.single_transformer_blocks]]
    assert all(a is b for a, b in zip(procs, after))
    for bad, match in ((dict(queries=-1), r"queries must be an int >= 0, got -1"),
                       (dict(every=0), r"every must be an int >= 1, got 0"),
                       (dict(per_head="yes"), r"per_head must be True or False")):
        with pytest.raises(ValueError, match=match):
            AttentionConfig(**bad)
    with pytest.raises(ValueError, match="attention must be an AttentionConfig"):
        fpkit.sample(tiny_pipe, **base_kwargs(image, **KW), generator=gen(0), attention="yes")
    with pytest.raises(ValueError, match="attention: .*unexpected keyword"):
        fpkit.sample(tiny_pipe, **base_kwargs(image, **KW), generator=gen(0), attention={"querys": 3})


def test_attention_plots_draw_what_was_recorded(tiny_pipe, image):
    from fpkit import plots

    run = fpkit.sample(tiny_pipe, **base_kwargs(image, **KW, num_frames=33), generator=gen(0), record="attention")
    fig = plots.attention_heatmap(run.trace, order=1)
    im = next(a for a in fig.axes[0].get_images() if a.get_gid() == "attention")
    rec = run.trace.sections[1]
    assert im.get_array().shape == (rec.attention.shape[1], len(rec.attention_segments))
    assert abs(float(im.get_array().sum(1).mean()) - 1) < 1e-5  # each block's row sums to 1
    fig = plots.attention_along_video(run.trace)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].lines}
    assert {"attention:anchor", "attention:noisy", "attention:text", "attention:image"} <= set(lines)
    assert list(lines["attention:anchor"].get_xdata()) == list(range(run.trace.plan.num_sections))
    with pytest.raises(ValueError, match="no attention recorded"):
        plots.attention_heatmap(fpkit.sample(tiny_pipe, **base_kwargs(image, **KW), generator=gen(0)).trace)


def test_trace_explorer_shows_the_attention_of_the_section_it_shows(tiny_pipe, image):
    from fpkit.widgets import TraceExplorer

    run = fpkit.sample(tiny_pipe, **base_kwargs(image, **KW, num_frames=33), generator=gen(0), record="attention")
    view = TraceExplorer(run)
    assert "attention" in view.figures
    view.slider.value = 2
    title = view.figures["attention"].axes[0].get_title()
    assert title.startswith(f"section {view.section.plan.order} ")
    assert "attention" not in TraceExplorer(fpkit.sample(tiny_pipe, **base_kwargs(image, **KW), generator=gen(0))).figures


def test_every_query_distributes_all_of_its_attention_over_the_slots(tiny_pipe, image):
    """slot_mass per query on the arguments a real block's processor received: each noisy query's
    shares over the plan's slots, the image and the text sum to 1, and their mean is what the
    trace records."""
    from fpkit.attention import segments, slot_mass

    block = tiny_pipe.transformer.transformer_blocks[0].attn
    seen = []
    inner = block.processor

    class Spy:
        def __call__(self, attn, hidden, encoder=None, mask=None, rope=None, **kw):
            seen.append((hidden, encoder, mask, rope))
            return inner(attn, hidden, encoder, mask, rope, **kw)

    block.processor = Spy()
    try:
        run = fpkit.sample(tiny_pipe, **base_kwargs(image, num_inference_steps=1, num_frames=9), generator=gen(0),
                           attention=AttentionConfig(queries=0, per_head=True))
    finally:
        block.processor = inner
    hidden, encoder, mask, rope = seen[0]  # the first section's conditional call (the wrapper sits inside)
    rec = run.trace.sections[0]
    image_tokens = run.trace.settings["attention"]["image_tokens"]
    labelled = segments(rec.plan, image_tokens, encoder.shape[1] - image_tokens)
    bounds, start = [], 0
    for _, n in labelled:
        bounds.append((start, start + n))
        start += n
    noisy = rec.plan.noisy.tokens
    index = torch.arange(hidden.shape[1] - noisy, hidden.shape[1])
    with torch.no_grad():
        per_query = slot_mass(block, hidden, encoder, mask, rope, bounds, index, chunk=7, per_query=True)
    assert per_query.shape[2] == noisy
    assert (per_query.sum(-1) - 1).abs().max() < 1e-5  # every query, every head
    assert (per_query.mean(2)[0] - rec.attention[0, 0]).abs().max() < 1e-6
