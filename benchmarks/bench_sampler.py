"""fpkit.sample vs the plain diffusers call on the same components and settings, interleaved.

Prints median wall time per configuration and the ratio to the plain pipeline call (target: <= 1.05
with per-step recording off, record="sections"); on CUDA also the peak GPU memory and the peak pinned
host memory of each configuration, and their ratio to the plain call.
Run: `python benchmarks/bench_sampler.py [--device cuda] [--dtype bfloat16]`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image

import fpkit


class _NoOp(fpkit.methods.Method):
    """Returns every value unchanged at every site."""

    name = "bench_no_op"

    def step_model_output(self, output, state):
        return output

    def step_latents(self, latents, state):
        return latents


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

    # Big enough that the transformer dominates, as it does with the released model.
    pipe = fpkit.tiny_pipeline(seed=0, latent_channels=16, transformer_kwargs=dict(
        num_attention_heads=args.heads, attention_head_dim=args.head_dim, num_layers=args.layers,
        num_single_layers=args.layers, rope_axes_dim=(8, 12, 12) if args.head_dim == 32 else (2, 2, 4)))
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
                                                   record="none", methods=[_NoOp()]),
    }
    cuda = args.device.startswith("cuda")
    for fn in configs.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in configs}
    memory: dict[str, tuple[int, int | None]] = {}
    for _ in range(args.repeats):
        for name, fn in configs.items():  # interleaved: machine noise hits every configuration alike
            sync()
            if cuda:
                torch.cuda.reset_peak_memory_stats()
                torch.cuda.memory.reset_peak_host_memory_stats()
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t0)
            if cuda:
                memory[name] = (torch.cuda.max_memory_allocated(),
                                torch.cuda.memory.host_memory_stats().get("allocated_bytes.peak"))
    base = statistics.median(times["diffusers pipe(...)"])
    plan = fpkit.plan(args.sampling_type, fpkit.planning.num_sections_for(61, 5), 5,
                      (args.height // 8, args.width // 8))
    print(f"device {args.device}, {args.sampling_type}, {plan.num_sections} sections x {args.steps} steps, "
          f"{args.height}x{args.width}, {plan.sections[0].total_tokens} tokens/section, {args.repeats} repeats")
    header = f"{'configuration':<24} {'median s':>9} {'ratio':>7}"
    if cuda:
        header += f" {'GPU peak MiB':>13} {'ratio':>7} {'pinned MiB':>11}"
    print(header)
    for name, values in times.items():
        med = statistics.median(values)
        line = f"{name:<24} {med:9.3f} {med / base:7.3f}"
        if cuda:
            gpu, pinned = memory[name]
            line += f" {gpu / 2**20:13.1f} {gpu / memory['diffusers pipe(...)'][0]:7.3f}"
            line += f" {pinned / 2**20:11.1f}" if pinned is not None else f" {'n/a':>11}"
        print(line)


if __name__ == "__main__":
    main()
