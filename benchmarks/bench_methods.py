"""What each anti-drifting method costs in time, on the toy F1 organism (vanilla), interleaved.

Prints the median wall time per method and its ratio to no method, for one clip at NUM_SECTIONS
sections; the cache rows are the speed-up to set beside their drift cost (results/toy_methods).
Run: `python benchmarks/bench_methods.py [--sections 12] [--repeats 5]`.
"""

from __future__ import annotations

import argparse

import torch
from common import interleaved, ratio_lines

METHODS = {
    "none": [],
    "anchor_only": ["anchor_only"],
    "repeated_i2v": ["repeated_i2v"],
    "history_guidance": [{"name": "history_guidance", "scale": 1.5}],
    "history_noise": [{"name": "history_noise", "sigma": 0.1}],
    "history_quantize": [{"name": "history_quantize", "k": 64}],
    "latent_stats": ["latent_stats"],
    "colour_match": ["colour_match"],
    "vae_roundtrip": ["vae_roundtrip"],
    "cache first_block": [{"name": "cache", "kind": "first_block", "threshold": 0.05}],
    "cache first_block, no reset": [{"name": "cache", "kind": "first_block", "threshold": 0.05, "reset": False}],
    "cache pyramid_attention_broadcast": [{"name": "cache", "kind": "pyramid_attention_broadcast"}],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sections", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from fpkit.toy import generate, load_organism
    from fpkit.toy.world import EVAL_SEED_OFFSET

    pipe = load_organism("f1")
    seed = EVAL_SEED_OFFSET

    def call(methods):
        return generate(pipe, seed, num_sections=args.sections, methods=methods)

    times = interleaved({name: (lambda m=m: call(m)) for name, m in METHODS.items()}, args.repeats)
    print(f"toy f1, vanilla, {args.sections} sections x 12 steps, {args.repeats} interleaved repeats, "
          f"{torch.get_num_threads()} threads")
    print("\n".join(ratio_lines(times, "none", width=36)))


if __name__ == "__main__":
    main()
