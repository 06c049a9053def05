"""A sweep of N runs through the experiment runner vs N plain pipeline calls on the same components.

The plain baseline does what a script without fpkit does per run: load the pipeline from disk and
call it (text encoder, image encoder and VAE encode every time). The sweep loads once, encodes each
distinct prompt and image once, and also writes traces, videos and metrics. Prints medians and the
ratio. Run: `python benchmarks/bench_sweep.py [--runs 8]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

import fpkit
from fpkit.experiment import Runner, builtin_image, parse_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fpkit-bench-"))
    # A text encoder heavier than the denoiser, as with the released models (Llama 8B vs 13B DiT
    # on short windows): here a 4-layer 256-wide Llama against a 1+1-block transformer.
    pipe = fpkit.tiny_pipeline(seed=0)
    from transformers import LlamaConfig, LlamaModel

    pipe.text_encoder = LlamaModel(LlamaConfig(
        vocab_size=len(pipe.tokenizer), hidden_size=256, intermediate_size=1024, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512, pad_token_id=2))
    pipe.transformer = type(pipe.transformer)(**{**pipe.transformer.config, "text_embed_dim": 256})
    pipe.save_pretrained(work / "pipe")
    seeds = list(range(args.runs))
    data = {
        "name": "bench", "model": {"name": str(work / "pipe")},
        "inputs": {"images": {"discs": "builtin:discs"}, "prompts": {"p": "a red ball bounces over a floor"}},
        "fixed": {"height": 32, "width": 48, "latent_window_size": 3, "num_sections": 2, "num_inference_steps": 2,
                  "sampling_type": "vanilla"},
        "grid": {"seed": seeds},
        "metrics": {"names": ["brightness", "laplacian_var"]},
    }
    exp = parse_experiment(data)
    image = builtin_image("discs", 32, 48)

    def plain():
        for seed in seeds:
            p = fpkit.load_pipeline(work / "pipe", dtype=torch.float32, vae_tiling=False)
            p.set_progress_bar_config(disable=True)
            p(image=image, prompt="a red ball bounces over a floor", height=32, width=48, num_frames=18,
              latent_window_size=3, num_inference_steps=2, sampling_type="vanilla",
              generator=torch.Generator().manual_seed(seed), output_type="pt")

    def sweep():
        out = work / "results"
        shutil.rmtree(out, ignore_errors=True)
        Runner(exp, out, progress=False).run()

    plain(), sweep()  # warm-up
    times = {"plain (load + call) x N": [], "fpkit sweep (N runs)": []}
    for _ in range(args.repeats):
        for name, fn in (("plain (load + call) x N", plain), ("fpkit sweep (N runs)", sweep)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["plain (load + call) x N"])
    print(f"N = {args.runs} runs, {args.repeats} interleaved repeats, CPU")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<26} {med:8.2f} s   ratio {med / base:.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
