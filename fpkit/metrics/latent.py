"""Latent metrics from a Trace: how each latent frame, and each section, departs from the start
image's latent (canvas position 0) and from the section before it in time.

Tables are long: one row per latent frame (or section), metric and, for per-channel statistics,
channel; `section` is the temporal index, `order` the generation order.
"""

from __future__ import annotations

import numpy as np

from .registry import INF, register, resolve

_NOT_IN_SECTION = "not in a section (start image latent)"
_FIRST_SECTION = "first section has no previous section"


class LatentBatch:
    """One video's latent canvas with its section layout. x: (N, C, h, w) float32."""

    def __init__(self, trace, batch_index: int = 0):
        import torch

        if trace.latents is None:
            raise ValueError("this trace holds no latents (recorded with record='none'); "
                             "record='sections' or 'steps' keeps them")
        lat = trace.latents  # (B, C, N, h, w)
        if not 0 <= batch_index < lat.shape[0]:
            raise ValueError(f"batch_index must be in [0, {lat.shape[0]}), got {batch_index!r}")
        self.x = lat[batch_index].to(torch.float32).permute(1, 0, 2, 3).contiguous()  # (N, C, h, w)
        self.num_frames, self.channels = self.x.shape[:2]
        self.start = self.x[0]  # (C, h, w) the start image's latent
        self.section = np.full(self.num_frames, -1)  # temporal index per canvas position, -1 = none
        self.order = np.full(self.num_frames, -1)  # generation order per canvas position
        self.previous = np.full(self.num_frames, -1)  # same offset in the temporally previous section
        plans = {rec.plan.index: rec.plan for rec in trace.sections}
        for index, p in plans.items():
            a, b = p.window
            self.section[a:b], self.order[a:b] = index, p.order
            if index - 1 in plans:
                before = plans[index - 1].window[0]
                self.previous[a:b] = np.arange(before, before + (b - a))


def _latent_metric(name, better, rng, description, reference="start_latent", per_channel=False):
    return register(name, kind="latent", family="latent", higher_is_better=better, range=rng, reference=reference,
                    description=description, per_channel=per_channel)


@_latent_metric("latent_channel_mean", None, (-INF, INF), "per-channel spatial mean of the latent frame",
                reference="none", per_channel=True)
def latent_channel_mean(b: LatentBatch) -> np.ndarray:
    return b.x.mean(dim=(2, 3)).double().numpy()


@_latent_metric("latent_channel_std", None, (0, INF), "per-channel spatial standard deviation of the latent frame",
                reference="none", per_channel=True)
def latent_channel_std(b: LatentBatch) -> np.ndarray:
    return b.x.std(dim=(2, 3), correction=0).double().numpy()


@_latent_metric("latent_mean_dist", False, (0, INF),
                "L2 distance (over channels) between the frame's channel means and the start latent's")
def latent_mean_dist(b: LatentBatch) -> np.ndarray:
    means = b.x.mean(dim=(2, 3))
    return (means - means[0]).norm(dim=1).double().numpy()


@_latent_metric("latent_std_dist", False, (0, INF),
                "L2 distance (over channels) between the frame's channel stds and the start latent's")
def latent_std_dist(b: LatentBatch) -> np.ndarray:
    stds = b.x.std(dim=(2, 3), correction=0)
    return (stds - stds[0]).norm(dim=1).double().numpy()


@_latent_metric("latent_cosine_start", True, (-1, 1), "cosine similarity of the whole latent frame to the start latent")
def latent_cosine_start(b: LatentBatch) -> np.ndarray:
    flat = b.x.flatten(1).double()
    norms = flat.norm(dim=1)
    cos = flat @ flat[0] / (norms * norms[0])
    return cos.numpy()  # NaN where a norm is 0 (reason added by latent_metrics)


@_latent_metric("latent_section_change", None, (0, INF),
                "RMS change from the same offset in the temporally previous section; per section, the RMS "
                "of the whole section's change", reference="previous_section")
def latent_section_change(b: LatentBatch) -> np.ndarray:
    out = np.full(b.num_frames, np.nan)
    has = np.flatnonzero(b.previous >= 0)
    if has.size:
        diff = b.x[has] - b.x[b.previous[has]]
        out[has] = diff.double().pow(2).mean(dim=(1, 2, 3)).sqrt().numpy()
    return out


# Per-section aggregation: mean over the window, except where the section's own definition differs.
_SECTION_RMS = {"latent_section_change"}  # RMS over the section == sqrt(mean of per-frame MS)


def latent_metrics(trace, run_id: str = "run", by: str = "latent_frame", metrics=None, batch_index: int = 0):
    """Latent metrics of a Trace as a long table.

    by="latent_frame": columns run_id, latent_frame (canvas position), section, order, channel, metric,
    value, reason. by="section": run_id, section, order, channel, metric, value, reason, one row per
    section (temporal order), values averaged over its window (latent_section_change: RMS).
    `channel` is set for per-channel metrics only; section/order are <NA> for the start latent.
    """
    import pandas as pd

    if by not in ("latent_frame", "section"):
        raise ValueError(f"by must be 'latent_frame' or 'section', got {by!r}")
    specs = resolve(metrics, "latent")
    b = LatentBatch(trace, batch_index)
    frames = []
    for spec in specs:
        vals = np.asarray(spec.fn(b), dtype=np.float64)
        vals = vals if spec.per_channel else vals[:, None]  # (N, C or 1)
        cols = vals.shape[1]
        reason = np.where(np.isnan(vals), "undefined (NaN)", "").astype(object)
        if spec.reference == "previous_section":
            reason[b.section < 0] = _NOT_IN_SECTION
            reason[(b.section >= 0) & (b.previous < 0)] = _FIRST_SECTION
        frames.append(pd.DataFrame({
            "latent_frame": np.repeat(np.arange(b.num_frames), cols),
            "channel": np.tile(np.arange(cols), b.num_frames) if spec.per_channel else -1,
            "metric": spec.name, "value": vals.ravel(), "reason": reason.ravel(),
        }))
    table = pd.concat(frames, ignore_index=True)
    table["section"] = b.section[table["latent_frame"]]
    table["order"] = b.order[table["latent_frame"]]
    if by == "section":
        table = table[table["section"] >= 0]
        table = table.assign(sq=table["value"] ** 2)
        keys = ["section", "order", "channel", "metric"]
        grouped = table.groupby(keys, sort=False)
        out = grouped.agg(value=("value", "mean"), ms=("sq", "mean"), reason=("reason", "first")).reset_index()
        rms = out["metric"].isin(_SECTION_RMS)
        out.loc[rms, "value"] = np.sqrt(out.loc[rms, "ms"])
        out.loc[out["value"].notna(), "reason"] = ""
        table = out.drop(columns="ms").sort_values(["section", "metric", "channel"], kind="stable")
        columns = ["run_id", "section", "order", "channel", "metric", "value", "reason"]
    else:
        table = table.sort_values("latent_frame", kind="stable")
        columns = ["run_id", "latent_frame", "section", "order", "channel", "metric", "value", "reason"]
    table = table.assign(run_id=run_id)
    for col in ("section", "order", "channel"):
        table[col] = table[col].astype("Int64").where(table[col] >= 0)
    return table[columns].reset_index(drop=True)
