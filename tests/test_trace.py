"""Trace persistence: save/load round trip, clear errors for damaged or foreign directories."""

import json

import pytest
import torch

import fpkit
from fpkit.trace import Trace
from helpers import base_kwargs, gen


@pytest.fixture(scope="module")
def steps_trace(tiny_pipe, image, last_image):
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, sampling_type="inverted_anti_drifting", num_frames=30,
                                                last_image=last_image), generator=gen(0), record="steps")
    return run.trace


def test_save_load_round_trip(steps_trace, tmp_path):
    steps_trace.save(tmp_path / "t")
    loaded = Trace.load(tmp_path / "t")
    assert loaded == steps_trace
    assert loaded.plan == steps_trace.plan
    assert torch.equal(loaded.sections[1].step_x0, steps_trace.sections[1].step_x0)
    assert loaded.to_frame().equals(steps_trace.to_frame())
    # equality is not vacuous: a changed tensor or schedule breaks it
    loaded.sections[0].latents = loaded.sections[0].latents + 1
    assert loaded != steps_trace
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["tensors.safetensors", "trace.json"]


def test_round_trip_without_tensors(tiny_pipe, image, tmp_path):
    trace = fpkit.sample(tiny_pipe, **base_kwargs(image), generator=gen(0), record="none").trace
    trace.save(tmp_path)
    assert Trace.load(tmp_path) == trace


def test_damaged_or_foreign_directories_name_the_file(steps_trace, tmp_path):
    with pytest.raises(FileNotFoundError, match="no trace directory"):
        Trace.load(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"trace\.json is missing"):
        Trace.load(empty)

    d = steps_trace.save(tmp_path / "t")
    meta = d / "trace.json"
    good = meta.read_text()
    meta.write_text(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"damaged trace file .*trace\.json"):
        Trace.load(d)
    meta.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match=r"not an fpkit trace: .*trace\.json has format 'something-else'"):
        Trace.load(d)
    meta.write_text(good.replace('"version": 3', '"version": 99'))
    with pytest.raises(ValueError, match="version 99"):
        Trace.load(d)
    meta.write_text(good)
    tensors = d / "tensors.safetensors"
    blob = tensors.read_bytes()
    tensors.write_bytes(blob[: len(blob) // 3])
    with pytest.raises(ValueError, match=r"damaged trace file .*tensors\.safetensors"):
        Trace.load(d)
    tensors.unlink()
    with pytest.raises(ValueError, match=r"tensors\.safetensors is missing"):
        Trace.load(d)


def test_section_frames_cover_the_video(steps_trace):
    frames = [f for rec in steps_trace.by_index() for f in steps_trace.section_frames(rec.plan)]
    assert frames == list(range(1, steps_trace.settings["num_frames"]))  # frame 0 is the start image


def test_section_latents_are_stored_once(tiny_pipe, image, tmp_path):
    """Each section's latents are a view of the whole latent video, in memory and on disk."""
    trace = fpkit.sample(tiny_pipe, **base_kwargs(image, num_frames=30), generator=gen(0)).trace
    for rec in trace.sections:
        a, b = rec.plan.window
        assert rec.latents.untyped_storage().data_ptr() == trace.latents.untyped_storage().data_ptr()
        assert torch.equal(rec.latents, trace.latents[:, :, a:b])
    trace.save(tmp_path / "t")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "t" / "tensors.safetensors"), "pt") as f:
        assert list(f.keys()) == ["latents"]
    loaded = Trace.load(tmp_path / "t")
    assert loaded == trace and torch.equal(loaded.sections[1].latents, trace.sections[1].latents)


def test_record_every_keeps_every_kth_step_and_the_last(tiny_pipe, image):
    kwargs = base_kwargs(image, num_inference_steps=7)
    full = fpkit.sample(tiny_pipe, **kwargs, generator=gen(0), record="steps").trace
    thin = fpkit.sample(tiny_pipe, **kwargs, generator=gen(0), record="steps", record_every=3).trace
    for f, t in zip(full.sections, thin.sections):
        assert f.step_indices == tuple(range(7)) and t.step_indices == (0, 3, 6)
        assert torch.equal(t.step_latents, f.step_latents[[0, 3, 6]])
        assert torch.equal(t.step_x0, f.step_x0[[0, 3, 6]])
    assert fpkit.trace.recorded_steps(10, 4) == (0, 4, 8, 9)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="record_every must be an int >= 1"):
            fpkit.sample(tiny_pipe, **kwargs, generator=gen(0), record="steps", record_every=bad)


@pytest.mark.parametrize("level, every", [("none", 1), ("sections", 1), ("steps", 1), ("steps", 2)])
def test_recording_cost_is_what_the_trace_holds(tiny_pipe, image, level, every):
    run = fpkit.sample(tiny_pipe, **base_kwargs(image, num_frames=30, num_inference_steps=3), generator=gen(0),
                       record=level, record_every=every)
    held = sum(v.numel() * v.element_size() for v in run.trace._tensor_dict().values())
    cost = fpkit.trace.recording_cost(run.trace.plan, level, num_steps=3, channels=4, every=every)
    assert cost["total_bytes"] == held
    big = fpkit.planning.plan("vanilla", 1, 9, (60, 104), 2)
    assert fpkit.trace.recording_cost(big, "steps", 50)["per_section_steps_bytes"] == 2 * 50 * 16 * 9 * 60 * 104 * 2


def test_version_1_traces_still_load(steps_trace, tmp_path):
    """Version 1 stored every section's latents beside the whole video and every step."""
    from safetensors.torch import save_file

    steps_trace.save(tmp_path / "v1")
    meta = json.loads((tmp_path / "v1" / "trace.json").read_text())
    tensors = {k: v.contiguous() for k, v in steps_trace._tensor_dict().items()}
    for rec in steps_trace.sections:
        tensors[f"section.{rec.plan.order}.latents"] = rec.latents.clone()
    meta["version"] = 1
    for rec in meta["sections"]:
        del rec["step_indices"], rec["latents"]
    meta["tensors"] = sorted(tensors)
    save_file(tensors, str(tmp_path / "v1" / "tensors.safetensors"))
    (tmp_path / "v1" / "trace.json").write_text(json.dumps(meta))
    loaded = Trace.load(tmp_path / "v1")
    assert loaded == steps_trace
