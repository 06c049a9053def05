"""fpkit.sample vs the plain diffusers call on the same components and settings, interleaved.

Prints median wall time per configuration and the ratio to the plain pipeline call (target: <= 1.05
with per-step recording off, record="sections"); on CUDA also the peak GPU memory and the peak pinned
host memory of each configuration, and their ratio to the plain call.
Run: `python benchmarks/bench_sampler.py [--device cuda] [--dtype bfloat16]`.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

import fpkit
from common import NoOp, bench_pipeline, interleaved, ratio_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sampling-type", default="inverted_anti_drifting")
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--head-dim", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    args = parser.parse_args()

    pipe = bench_pipeline(args.heads, args.head_dim, args.layers)
    pipe.to(args.device)
    if args.dtype != "float32":
        pipe.to(dtype=getattr(torch, args.dtype))
    image = Image.fromarray((np.random.RandomState(0).rand(args.height, args.width, 3) * 255).astype("uint8"))
    kwargs = dict(image=image, prompt="a benchmark", height=args.height, width=args.width, num_frames=61,
                  latent_window_size=5, num_inference_steps=args.steps, sampling_type=args.sampling_type)

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    configs = {
        "diffusers pipe(...)": lambda: pipe(**kwargs, generator=torch.Generator().manual_seed(0), output_type="pt"),
        "fpkit record=none": lambda: fpkit.sample(pipe, **kwargs, generator=torch.Generator().manual_seed(0),
                                                  record="none"),
        "fpkit record=sections": lambda: fpkit.sample(pipe, **kwargs, generator=torch.Generator().manual_seed(0),
                                                      record="sections"),
        "fpkit record=steps": lambda: fpkit.sample(pipe, **kwargs, generator=torch.Generator().manual_seed(0),
                                                   record="steps"),
        "fpkit steps every=2": lambda: fpkit.sample(pipe, **kwargs, generator=torch.Generator().manual_seed(0),
                                                    record="steps", record_every=2),
        # a no-op method at every per-step site: the cost of the site machinery itself
        "fpkit no-op method": lambda: fpkit.sample(pipe, **kwargs, generator=torch.Generator().manual_seed(0),
                                                   record="none", methods=[NoOp()]),
    }
    cuda = args.device.startswith("cuda")
    memory: dict[str, tuple[int, int | None]] = {}

    def reset(name):
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.memory.reset_peak_host_memory_stats()

    def read(name):
        memory[name] = (torch.cuda.max_memory_allocated(),
                        torch.cuda.memory.host_memory_stats().get("allocated_bytes.peak"))

    times = interleaved(configs, args.repeats, sync, before=reset if cuda else None, after=read if cuda else None)
    plan = fpkit.plan(args.sampling_type, fpkit.planning.num_sections_for(61, 5), 5,
                      (args.height // 8, args.width // 8))
    print(f"device {args.device}, {args.sampling_type}, {plan.num_sections} sections x {args.steps} steps, "
          f"{args.height}x{args.width}, {plan.sections[0].total_tokens} tokens/section, {args.repeats} repeats")
    header, *lines = ratio_lines(times, "diffusers pipe(...)", width=24)
    if cuda:
        header += f" {'GPU peak MiB':>13} {'ratio':>7} {'pinned MiB':>11}"
        for i, name in enumerate(times):
            gpu, pinned = memory[name]
            lines[i] += f" {gpu / 2**20:13.1f} {gpu / memory['diffusers pipe(...)'][0]:7.3f}"
            lines[i] += f" {pinned / 2**20:11.1f}" if pinned is not None else f" {'n/a':>11}"
    print("\n".join([header, *lines]))


if __name__ == "__main__":
    main()
