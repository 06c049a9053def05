"""Attention to the packed context: how much of the noisy window's softmax attention goes to each
slot of a section's plan (start anchor, each history slot, the noisy window itself, the SigLIP image
tokens, the text), per block, head and step.

    run = fpkit.sample(pipe, ..., record="attention")                        # defaults below
    run = fpkit.sample(pipe, ..., attention=fpkit.attention.AttentionConfig(queries=32, per_head=True))
    run.trace.to_frame("attention")        # order, index, step, block, head, slot, kind, ..., mass

The recorder wraps each transformer block's attention processor for one call: the block's output
is the original processor's, untouched (a recorded run is bit-identical to an unrecorded one); the
mass is computed beside it from the same query and key projections (norms and RoPE applied as the
processor does) for a subsample of the noisy-window queries, chunked, so memory stays bounded:
softmax(q k^T / sqrt(d)) summed over each slot's key range, averaged over the sampled queries (and
the batch). Token ranges come from the plan's slot token counts and are checked against the packed
sequence on every call. A slot whose canvas frames are all zeros still has keys (the patch
embedding's bias, RoPE) and so still gets a share.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import torch

IMAGE, TEXT = "image", "text"  # the two condition segments after the latent tokens


@dataclass(frozen=True)
class AttentionConfig:
    """queries: noisy-window queries sampled per call (evenly spaced; 0 = all of them); per_head:
    keep every head (else the mean over heads); every: record every k-th step (and the last);
    chunk: queries per softmax chunk (memory: B x heads x chunk x keys floats)."""

    queries: int = 64
    per_head: bool = False
    every: int = 1
    chunk: int = 64

    def __post_init__(self):
        for name, low in (("queries", 0), ("every", 1), ("chunk", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"AttentionConfig.{name} must be an int >= {low}, got {value!r}")
        if not isinstance(self.per_head, bool):
            raise ValueError(f"AttentionConfig.per_head must be True or False, got {self.per_head!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def resolve(record, attention) -> tuple[object, AttentionConfig | None]:
    """(record level for the rest of the trace, attention config or None) from sample()'s keywords:
    record="attention" records sections plus attention with the default config; `attention` (an
    AttentionConfig, a dict of its fields, or True) records it at any level."""
    config = None
    if record == "attention":
        record, config = "sections", AttentionConfig()
    if attention is True:
        config = config or AttentionConfig()
    elif isinstance(attention, dict):
        try:
            config = AttentionConfig(**attention)
        except TypeError as err:
            raise ValueError(f"attention: {err}; fields: {list(AttentionConfig.__dataclass_fields__)}") from None
    elif isinstance(attention, AttentionConfig):
        config = attention
    elif attention not in (None, False):
        raise ValueError(f"attention must be an AttentionConfig, a dict of its fields, True or None, got {attention!r}")
    return record, config


def segments(section, image_tokens: int, text_tokens: int) -> list[tuple[str, int]]:
    """The key sequence of one section as (label, tokens) in packed order: the 4x slots, the 2x slots,
    the 1x slots (anchor and 1x history, RoPE order), the noisy window, then the SigLIP image tokens
    and the text. Slot labels are their index in `section.slots`."""
    from .planning import _INPUT_OF

    groups: dict[str, list[tuple[str, int]]] = {"history_4x": [], "history_2x": [], "clean": [], "noisy": []}
    for i, slot in enumerate(section.slots):
        if slot.kind == "gap" or slot.tokens == 0:
            continue
        key = "noisy" if slot.kind == "noisy" else _INPUT_OF[slot.compression]
        groups[key].append((str(i), slot.tokens))
    out = [s for key in ("history_4x", "history_2x", "clean", "noisy") for s in groups[key]]
    return out + [(IMAGE, image_tokens), (TEXT, text_tokens)]


def slot_mass(attn, hidden_states, encoder_hidden_states, attention_mask, image_rotary_emb, bounds,
              query_index: torch.Tensor, chunk: int = 64, per_query: bool = False) -> torch.Tensor:
    """(B, heads, segments) softmax mass of the queries `query_index` (latent token positions) over
    the key ranges `bounds` [(start, stop)], from the block's own projections, norms and RoPE,
    averaged over the queries (`per_query`: (B, heads, queries, segments) instead)."""
    from diffusers.models.embeddings import apply_rotary_emb

    single = attn.add_q_proj is None
    x = torch.cat([hidden_states, encoder_hidden_states], 1) if single and encoder_hidden_states is not None \
        else hidden_states
    latent = hidden_states.shape[1]
    q = attn.to_q(hidden_states[:, query_index]).unflatten(2, (attn.heads, -1))
    k = attn.to_k(x).unflatten(2, (attn.heads, -1))
    if attn.norm_q is not None:
        q = attn.norm_q(q)
    if attn.norm_k is not None:
        k = attn.norm_k(k)
    if image_rotary_emb is not None:
        cos, sin = image_rotary_emb
        q = apply_rotary_emb(q, (cos[query_index], sin[query_index]), sequence_dim=1)
        k = torch.cat([apply_rotary_emb(k[:, :latent], image_rotary_emb, sequence_dim=1), k[:, latent:]], 1)
    if not single and encoder_hidden_states is not None:
        ek = attn.add_k_proj(encoder_hidden_states).unflatten(2, (attn.heads, -1))
        if attn.norm_added_k is not None:
            ek = attn.norm_added_k(ek)
        k = torch.cat([k, ek], 1)
    keys = k.shape[1]
    if bounds[-1][1] != keys:
        raise ValueError(f"the plan's slots give {bounds[-1][1]} keys but the packed sequence has {keys}: "
                         f"segments {bounds}")
    k = k.permute(0, 2, 3, 1).float()  # (B, H, D, N)
    q = q.permute(0, 2, 1, 3).float()  # (B, H, nq, D)
    masked = None
    if attention_mask is not None:  # (B, 1, 1, N) bool, True = attend
        masked = ~attention_mask.reshape(attention_mask.shape[0], 1, 1, -1).bool()
    scale = q.shape[-1] ** -0.5
    total = torch.zeros(q.shape[0], q.shape[1], len(bounds), dtype=torch.float64, device=q.device)
    rows = []
    for c in range(0, q.shape[2], chunk):
        logits = torch.matmul(q[:, :, c:c + chunk], k) * scale  # (B, H, c, N)
        if masked is not None:
            logits = logits.masked_fill(masked, float("-inf"))
        p = torch.softmax(logits, dim=-1)
        mass = torch.stack([p[..., a:b].sum(-1) for a, b in bounds], -1)  # (B, H, c, S)
        if per_query:
            rows.append(mass)
        else:
            total += mass.sum(2).double()
    if per_query:
        return torch.cat(rows, 2)
    return (total / q.shape[2]).float()


class _Recording:
    """The processor wrapper of one block: the original output, plus the mass when recording."""

    def __init__(self, inner, recorder: "AttentionRecorder", block: int):
        self.inner, self.recorder, self.block = inner, recorder, block

    def __getattr__(self, name):  # diffusers reads attributes of processors (e.g. _attention_backend)
        return getattr(self.inner, name)

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 image_rotary_emb=None, **kwargs):
        out = self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, image_rotary_emb, **kwargs)
        if self.recorder.armed is not None:
            with torch.no_grad():
                self.recorder.observe(self.block, attn, hidden_states, encoder_hidden_states, attention_mask,
                                      image_rotary_emb)
        return out


class AttentionRecorder:
    """Installs `_Recording` on every dual- and single-stream block for one call and collects
    (section order -> step -> (blocks, heads, segments)) masses."""

    def __init__(self, config: AttentionConfig, image_tokens: int):
        self.config, self.image_tokens = config, image_tokens
        self.armed = None  # (section, step) while the conditional prediction of a recorded step runs
        self.masses: dict[int, dict[int, dict[int, torch.Tensor]]] = {}
        self.labels: dict[int, list[str]] = {}
        self.blocks: list[str] = []

    def install(self, transformer):
        blocks = [(f"double.{i}", b.attn) for i, b in enumerate(transformer.transformer_blocks)] + \
                 [(f"single.{i}", b.attn) for i, b in enumerate(transformer.single_transformer_blocks)]
        self.blocks = [name for name, _ in blocks]
        originals = [attn.processor for _, attn in blocks]
        for j, (_, attn) in enumerate(blocks):
            attn.processor = _Recording(attn.processor, self, j)

        def undo():
            for (_, attn), processor in zip(blocks, originals):
                attn.processor = processor

        return undo

    @contextlib.contextmanager
    def step(self, section, step: int, num_steps: int):
        """Record the transformer call(s) inside this block for (section, step), once per block."""
        from .trace import recorded_steps

        if step not in recorded_steps(num_steps, self.config.every):
            yield
            return
        self.armed = (section, step)
        try:
            yield
        finally:
            self.armed = None

    def observe(self, block: int, attn, hidden, encoder, mask, rope) -> None:
        section, step = self.armed
        per_step = self.masses.setdefault(section.order, {}).setdefault(step, {})
        if block in per_step:  # a second call at this step (true CFG's negative pass, a guidance method)
            return
        text = encoder.shape[1] - self.image_tokens if encoder is not None else 0
        labelled = segments(section, self.image_tokens, text)
        self.labels[section.order] = [label for label, _ in labelled]
        bounds, start = [], 0
        for _, n in labelled:
            bounds.append((start, start + n))
            start += n
        noisy = section.noisy.tokens
        latent = hidden.shape[1]
        wanted = self.config.queries or noisy
        offsets = torch.linspace(0, noisy - 1, min(wanted, noisy)).round().long().unique()
        query_index = (latent - noisy + offsets).to(hidden.device)
        mass = slot_mass(attn, hidden, encoder, mask, rope, bounds, query_index, self.config.chunk)  # (B, H, S)
        mass = mass.mean(0)
        per_step[block] = (mass if self.config.per_head else mass.mean(0, keepdim=True)).cpu()

    def attach(self, trace) -> None:
        """Store the masses on the trace's section records: (steps, blocks, heads, segments) each."""
        for rec in trace.sections:
            steps = self.masses.get(rec.plan.order)
            if not steps:
                continue
            order = sorted(steps)
            shape = next(iter(steps[order[0]].values())).shape
            stacked = torch.full((len(order), len(self.blocks), *shape), float("nan"))
            for i, s in enumerate(order):  # a block a cache skipped at a step stays NaN there
                for b, mass in steps[s].items():
                    stacked[i, b] = mass
            rec.attention = stacked
            rec.attention_steps = tuple(order)
            rec.attention_segments = tuple(self.labels[rec.plan.order])
        trace.settings["attention"] = {**self.config.to_dict(), "blocks": list(self.blocks),
                                       "image_tokens": self.image_tokens}
