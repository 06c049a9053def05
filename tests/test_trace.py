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
    meta.write_text(good.replace('"version": 1', '"version": 99'))
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
