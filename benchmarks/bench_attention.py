"""What recording attention to the context slots costs, side by side in one process (interleaved).

Prints the median wall time of a sample without recording, with `record="attention"` on a query
subsample (16 and 64 queries) and on every noisy query, and the ratio to no recording; the memory
it adds (peak RSS growth of an all-queries call on the CPU; what the trace stores); and an estimate
for the released 480x832 transformer from operation counts.
Run: `python benchmarks/bench_attention.py [--model toy|bench] [--sections 6] [--repeats 5]`.
"""

from __future__ import annotations

import argparse
import resource

import torch
from common import bench_pipeline, interleaved, ratio_lines

from fpkit.attention import AttentionConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=("toy", "bench"), default="toy")
    parser.add_argument("--sections", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import fpkit

    if args.model == "toy":
        from fpkit.toy import generate, load_organism

        pipe = load_organism("f1")

        def run(**kw):
            return generate(pipe, 1_000_000_000, args.sections, "vanilla", 12, **kw)
    else:
        pipe = bench_pipeline()
        from PIL import Image

        image = Image.new("RGB", (64, 64), (120, 60, 30))

        def run(**kw):
            return fpkit.sample(pipe, image=image, prompt="a ball", height=64, width=64, latent_window_size=4,
                                num_frames=args.sections * 16, num_inference_steps=8, sampling_type="vanilla",
                                generator=torch.Generator().manual_seed(0), record="none", **kw)

    configs = {
        "no recording": lambda: run(),
        "attention, 16 queries": lambda: run(attention=AttentionConfig(queries=16)),
        "attention, 64 queries": lambda: run(attention=AttentionConfig(queries=64)),
        "attention, all queries": lambda: run(attention=AttentionConfig(queries=0)),
    }
    times = interleaved(configs, args.repeats)
    plan = run(attention=AttentionConfig(queries=16)).trace
    rec = plan.sections[-1]
    print(f"{args.model}: {args.sections} sections, {rec.attention.shape[0]} steps x {rec.attention.shape[1]} blocks "
          f"recorded per section, {len(rec.attention_segments)} segments; threads {args.threads}")
    print("\n".join(ratio_lines(times, "no recording")))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run(attention=AttentionConfig(queries=0))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS growth of an all-queries call after the timed ones: {(after - before) / 1024:.1f} MB "
          "(0 = within the peak already reached)")
    stored = sum(r.attention.numel() * 4 for r in plan.sections if r.attention is not None)
    print(f"stored in the trace (mean over heads): {stored / 1024:.1f} KiB for {len(plan.sections)} sections")
    # released transformer, 480x832, lws 9: keys ~ 14040 noisy + ~4900 context + 729 image + ~256 text
    heads, dim, keys, queries, blocks = 24, 128, 19_925, 64, 60
    extra = blocks * (keys * 3072 * 3072 + queries * keys * heads * dim * 2)  # a K projection + q k^T per block
    base = blocks * (19_925 + 985) * 3072 * 3072 * 12  # ~12 d^2 multiply-adds per token per block (attn + MLP)
    print(f"released-size estimate per recorded step (64 queries): +{extra / base:.1%} multiply-adds "
          f"(a second K projection dominates); softmax chunk of 64 queries: "
          f"{heads * 64 * keys * 4 / 2 ** 20:.0f} MB per block at batch 1")


if __name__ == "__main__":
    main()
