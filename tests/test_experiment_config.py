"""Experiment files: every malformed value caught at parse (key named, no traceback, nothing
written), axis-level validation speed, numeric --only, and run ids that follow content."""

import time
from pathlib import Path

import pytest
from PIL import Image

import fpkit
from fpkit.cli import main
from fpkit.experiment import ExperimentError, Runner, load_experiment, parse_experiment
from fpkit.experiment import grid as grid_module

BASE = """\
name = "t"
fps = 30

[model]
name = "tiny"

[inputs]
images = { discs = "builtin:discs" }
prompts = { a = "a red ball" }

[fixed]
height = 32
width = 48
latent_window_size = 3
num_sections = 2
num_inference_steps = 1

[grid]
sampling_type = ["vanilla", "inverted_anti_drifting"]
seed = [0, 1]

[record]
level = "sections"

[metrics]
names = ["brightness"]
"""

# (id, (text in BASE, its replacement), what the error must name)
MALFORMED = [
    ("fps_negative", ("fps = 30", "fps = -30"), "fps = -30: must be an integer >= 1"),
    ("fps_zero", ("fps = 30", "fps = 0"), "fps = 0"),
    ("fps_text", ("fps = 30", 'fps = "thirty"'), "fps = 'thirty'"),
    ("not_an_image", ('discs = "builtin:discs"', 'discs = "notes.png"'), "images.discs = image file 'notes.png' is not"),
    ("missing_image", ('discs = "builtin:discs"', 'discs = "missing.png"'), "image file 'missing.png' not found"),
    ("unknown_builtin", ('discs = "builtin:discs"', 'discs = "builtin:squares"'), "unknown built-in image"),
    ("ratio_1_5", ('names = ["brightness"]', 'names = ["brightness"]\nratio = 1.5'), "[metrics] ratio = 1.5"),
    ("names_empty", ('names = ["brightness"]', "names = []"), "[metrics] names = []"),
    ("video_no", ('level = "sections"', 'level = "sections"\nvideo = "no"'), "[record] video = 'no': must be true or false"),
    ("guidance_text", ("num_inference_steps = 1", 'num_inference_steps = 1\nguidance_scale = "high"'),
     "[fixed] guidance_scale = 'high'"),
    ("guidance_negative", ("num_inference_steps = 1", "num_inference_steps = 1\nguidance_scale = -1"),
     "[fixed] guidance_scale = -1"),
    ("prompt_not_text", ('prompts = { a = "a red ball" }', "prompts = { a = 5 }"), "prompts.a = 5: must be a string"),
    ("max_sequence_length_zero", ("num_inference_steps = 1", "num_inference_steps = 1\nmax_sequence_length = 0"),
     "[fixed] max_sequence_length = 0"),
    ("model_seed_text", ('name = "tiny"', 'name = "tiny"\nseed = "zero"'), "[model] seed = 'zero'"),
    ("model_int", ('[model]\nname = "tiny"\n', ""), "[model] name = 5"),  # plus `model = 5` on top, below
    ("grid_list", ('[grid]\nsampling_type = ["vanilla", "inverted_anti_drifting"]\nseed = [0, 1]\n', ""),
     "[grid] must be a table"),
    ("latent_metric", ('names = ["brightness"]', 'names = ["latent_mean_dist"]'), "'latent_mean_dist' is a latent metric"),
    ("unknown_metric", ('names = ["brightness"]', 'names = ["sharpness_9000"]'), "unknown metric 'sharpness_9000'"),
    ("unknown_top_key", ("fps = 30", "fps = 30\nfoo = 1"), "unknown key 'foo' in the file"),
    ("unknown_axis", ("seed = [0, 1]", "sede = [0, 1]"), "unknown key 'sede' in [grid]"),
    ("unknown_sampling_type", ('sampling_type = ["vanilla", "inverted_anti_drifting"]', 'sampling_type = ["sideways"]'),
     "[grid] sampling_type = 'sideways'"),
    ("height_not_divisible", ("height = 32", "height = 40"), "[fixed] height = 40: not divisible by 16"),
    ("negative_seed", ("seed = [0, 1]", "seed = [0, -1]"), "[grid] seed = -1"),
    ("seed_text", ("seed = [0, 1]", 'seed = [0, "zero"]'), "[grid] seed = 'zero': must be an integer >= 0"),
    ("seed_image_not_toy", ("seed = [0, 1]", 'seed = ["image"]'),
     "[grid] seed = 'image' takes each run's noise seed from its toy start image (toy:<seed>), but image 'discs' "
     "is 'builtin:discs'"),
    ("float_steps", ("num_inference_steps = 1", "num_inference_steps = 1.5"), "[fixed] num_inference_steps = 1.5"),
    ("bool_width", ("width = 48", "width = true"), "[fixed] width = True"),
    ("empty_axis", ("seed = [0, 1]", "seed = []"), "[grid] seed = []"),
    ("flow_shift_zero", ("num_inference_steps = 1", "num_inference_steps = 1\nflow_shift = 0"), "[fixed] flow_shift = 0"),
    ("unknown_solver", ("num_inference_steps = 1", 'num_inference_steps = 1\nsolver = "rk4"'), "[fixed] solver = 'rk4'"),
    ("sigmas_increasing", ("num_inference_steps = 1", "num_inference_steps = 1\nsigmas = [0.5, 0.9]"), "[fixed] sigmas"),
    ("dtype", ('name = "tiny"', 'name = "tiny"\ndtype = "float8"'), "[model] dtype = 'float8'"),
    ("offload", ('name = "tiny"', 'name = "tiny"\noffload = "cpu"'), "[model] offload = 'cpu'"),
    ("unknown_model", ('name = "tiny"', 'name = "nope"'), "[model] 'nope' is none of"),
    ("by_sampling_type", ('name = "tiny"', 'name = "tiny"\nby_sampling_type = { forward = "tiny" }'),
     "by_sampling_type: unknown sampling type 'forward'"),
    ("record_level", ('level = "sections"', 'level = "everything"'), "[record] level = 'everything'"),
    ("undeclared_image", ("seed = [0, 1]", 'seed = [0, 1]\nimage = ["nope"]'), "[grid] image = 'nope'"),
    ("last_image_with_vanilla", ('prompts = { a = "a red ball" }',
                                 'prompts = { a = "a red ball" }\nlast_images = { end = "builtin:checker" }\n'
                                 '[grid2]'), "does not take a last_image"),
    ("duplicate_seed", ("seed = [0, 1]", "seed = [0, 0]"), "[grid] seed = [0, 0]: lists 0 more than once"),
    ("duplicate_number", ("seed = [0, 1]", "flow_shift = [3, 3.0]"), "lists 3.0 more than once"),
    ("two_lengths", ("num_sections = 2", "num_sections = 2\nnum_frames = 20"), "give the length once"),
    ("bad_toml", ('name = "t"', "name = "), "not valid TOML"),
    ("name_with_slash", ('name = "t"', 'name = "a/b"'), "name = 'a/b'"),
    ("missing_name", ('name = "t"', ""), "name is missing"),
    ("seconds_negative", ("num_sections = 2", "seconds = -1"), "[fixed] seconds = -1"),
    ("same_seconds", ("num_sections = 2", ""), "give the same length"),  # seconds = [4.9, 5] below
    ("set_twice", ("num_inference_steps = 1", "num_inference_steps = 1\nseed = 3"), "seed is set in both"),
    ("same_image_twice", ('images = { discs = "builtin:discs" }', 'images = { a = "builtin:discs", b = "builtin:discs" }'),
     "have the same content"),
    ("max_runs_zero", ("fps = 30", "fps = 30\nmax_runs = 0"), "max_runs = 0"),
    ("inputs_not_table", ('[inputs]\nimages = { discs = "builtin:discs" }\nprompts = { a = "a red ball" }\n', ""),
     "[inputs] must be a table"),
]
EXTRA = {  # lines added at the top of the file (top-level keys must come before any section)
    "model_int": "model = 5\n", "grid_list": "grid = [1, 2]\n", "inputs_not_table": "inputs = 3\n",
}
TAIL = {  # lines added in [grid]
    "last_image_with_vanilla": 'last_image = ["end"]\n', "same_seconds": "seconds = [4.9, 5]\n",
}


def malformed_text(case_id: str, old: str, new: str) -> str:
    assert old in BASE, old
    text = EXTRA.get(case_id, "") + BASE.replace(old, new, 1)
    text = text.replace("[grid2]\n", "")
    if case_id in TAIL:
        text = text.replace("seed = [0, 1]\n", "seed = [0, 1]\n" + TAIL[case_id], 1)
    return text


@pytest.fixture
def no_model(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(fpkit.pipelines, "tiny_pipeline", boom)


def test_base_file_is_valid(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(BASE)
    assert len(load_experiment(path).runs()) == 4


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_file_fails_in_validation(case, tmp_path, capsys, no_model):
    case_id, (old, new), needle = case
    (tmp_path / "notes.png").write_text("these are notes, not pixels")
    path = tmp_path / "bad.toml"
    path.write_text(malformed_text(case_id, old, new))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err, err
    assert "Traceback" not in err
    assert not out.exists()  # nothing written


def test_there_are_at_least_30_malformed_cases():
    assert len(MALFORMED) + 1 >= 30  # + the directory case below


def test_experiment_path_that_is_a_directory(tmp_path, capsys, no_model):
    assert main(["run", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_every_problem_of_a_file_is_listed_at_once(tmp_path):
    text = BASE.replace("fps = 30", 'fps = -1\nfoo = 2').replace("height = 32", "height = 40") \
        .replace('level = "sections"', 'level = "sections"\nvideo = "no"').replace('names = ["brightness"]', "names = []")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ExperimentError) as err:
        load_experiment(path)
    text = str(err.value)
    for needle in ("fps = -1", "unknown key 'foo'", "[record] video = 'no'", "[metrics] names = []", "[fixed] height = 40"):
        assert needle in text, (needle, text)


def test_a_bad_value_is_reported_once_not_per_run():
    data = _data(grid={"seed": list(range(1000)), "sampling_type": ["vanilla"]}, fixed={"height": 40})
    with pytest.raises(ExperimentError) as err:
        parse_experiment(data)
    assert err.value.problems == [
        "[fixed] height = 40: not divisible by 16, as model 'tiny' needs (VAE factor 8 x patch size 2)"]


def test_million_run_grid_validates_fast_and_needs_yes(tmp_path, no_model):
    data = _data(grid={"seed": list(range(1000)), "guidance_scale": [1.0 + i / 100 for i in range(1000)]})
    parse_experiment(data)  # warm imports and caches
    t0 = time.perf_counter()
    exp = parse_experiment(data)
    elapsed = time.perf_counter() - t0
    assert exp.grid_size() == 10 ** 6
    assert elapsed < 2.0, f"validation took {elapsed:.2f} s"
    with pytest.raises(ExperimentError, match=r"1,000,000 runs, more than max_runs = 1,000.*--yes"):
        Runner(exp, tmp_path / "out", progress=False).run()
    assert not (tmp_path / "out").exists()
    assert parse_experiment({**data, "max_runs": 10 ** 6}).max_runs == 10 ** 6


def test_seed_image_gives_each_toy_clip_its_own_noise(tmp_path, no_model):
    """`seed = "image"`: a run's noise seed is its toy start image's world seed (`toy:<seed>` and
    `toy:<seed>@<frame>` alike), so sampling types on one clip share noise and clips do not; the run is
    the same run (same id) as one written with that integer seed."""
    text = (BASE.replace('images = { discs = "builtin:discs" }', 'images = { w0 = "toy:1000000000", w1 = "toy:7@5" }')
            .replace("seed = [0, 1]\n", 'image = ["w0", "w1"]\n')
            .replace("num_inference_steps = 1", 'num_inference_steps = 1\nseed = "image"'))
    path = tmp_path / "per_clip.toml"
    path.write_text(text)
    runs = load_experiment(path).runs()
    assert len(runs) == 4
    assert {(r.image, dict(r.sample)["sampling_type"], r.seed) for r in runs} == {
        ("w0", "vanilla", 1000000000), ("w0", "inverted_anti_drifting", 1000000000),
        ("w1", "vanilla", 7), ("w1", "inverted_anti_drifting", 7)}
    assert all(dict(r.labels)["seed_rule"] == "image" for r in runs)
    explicit = tmp_path / "explicit.toml"
    explicit.write_text(text.replace('seed = "image"', "seed = 7").replace('image = ["w0", "w1"]', 'image = ["w1"]'))
    assert {r.run_id for r in load_experiment(explicit).runs()} == {r.run_id for r in runs if r.image == "w1"}


def test_only_matches_numbers_numerically():
    data = _data(grid={"flow_shift": [1.0, 3.0, "dynamic"]})
    exp = parse_experiment(data, overrides={"flow_shift": 3})
    runs = exp.runs({"flow_shift": 3})
    assert len(runs) == 1 and runs[0].kwargs["flow_shift"] == 3.0
    assert [r.kwargs["flow_shift"] for r in exp.runs({"flow_shift": "dynamic"})] == ["dynamic"]
    with pytest.raises(ExperimentError, match=r"--only flow_shift = 4: matches none of \[1.0, 3.0, 'dynamic'\]"):
        parse_experiment(data, overrides={"flow_shift": 4})
    with pytest.raises(ExperimentError, match="this experiment does not set solver"):
        parse_experiment(data, overrides={"solver": "euler"})


def test_ints_given_for_float_settings_are_the_same_run():
    a = parse_experiment(_data(fixed={"guidance_scale": 6, "flow_shift": 3})).runs()
    b = parse_experiment(_data(fixed={"guidance_scale": 6.0, "flow_shift": 3.0})).runs()
    assert [r.run_id for r in a] == [r.run_id for r in b]


# ---------------------------------------------------------------------------------------------
# Identity: the run id follows content, never names


def _data(fixed=None, grid=None, **top):
    data = {
        "name": "t", "model": {"name": "tiny"},
        "inputs": {"images": {"img": "builtin:discs"}, "prompts": {"a": "a red ball"}},
        "fixed": {"height": 32, "width": 48, "latent_window_size": 3, "num_sections": 2, "num_inference_steps": 1,
                  **(fixed or {})},
        "grid": grid or {"seed": [0]},
        "metrics": {"names": ["brightness"]},
    }
    data.update(top)
    return data


def _one_id(data, base=".") -> str:
    runs = parse_experiment(data, base_dir=base).runs()
    assert len(runs) == 1
    return runs[0].run_id


def _set(path, value):
    def change(d):
        node = d
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return change


IDENTITY_CHANGES = {
    "prompt text": _set(("inputs", "prompts", "a"), "a blue cube"),
    "image": _set(("inputs", "images", "img"), "builtin:checker"),
    "model dtype": _set(("model", "dtype"), "bfloat16"),
    "model weights (tiny seed)": _set(("model", "seed"), 1),
    "metric names": _set(("metrics", "names"), ["brightness", "flicker"]),
    "metric ratio": _set(("metrics", "ratio"), 0.2),
    "record level": _set(("record", "level"), "steps"),
    "record video": _set(("record", "video"), False),
    "fps": _set(("fps",), 24),
    "seed": _set(("grid", "seed"), [1]),
    "height": _set(("fixed", "height"), 48),
    "width": _set(("fixed", "width"), 64),
    "length": _set(("fixed", "num_sections"), 3),
    "latent_window_size": _set(("fixed", "latent_window_size"), 4),
    "steps": _set(("fixed", "num_inference_steps"), 2),
    "guidance_scale": _set(("fixed", "guidance_scale"), 7.0),
    "true_cfg_scale": _set(("fixed", "true_cfg_scale"), 2.0),
    "negative_prompt": _set(("fixed", "negative_prompt"), "blurry"),
    "max_sequence_length": _set(("fixed", "max_sequence_length"), 64),
    "sampling_type": _set(("fixed", "sampling_type"), "vanilla"),
    "flow_shift": _set(("fixed", "flow_shift"), 3.0),
    "solver": _set(("fixed", "solver"), "unipc"),
    "sigmas": _set(("fixed", "sigmas"), [1.0, 0.5]),
}


@pytest.mark.parametrize("what", list(IDENTITY_CHANGES))
def test_changing_an_identity_input_makes_a_new_run_id(what):
    import copy

    before = _one_id(_data())
    data = copy.deepcopy(_data())
    IDENTITY_CHANGES[what](data)
    assert _one_id(data) != before


def test_image_file_content_and_model_weights_are_part_of_the_id(tmp_path):
    Image.new("RGB", (48, 32), (200, 10, 10)).save(tmp_path / "start.png")
    data = _data()
    data["inputs"]["images"] = {"img": "start.png"}
    before = _one_id(data, tmp_path)
    Image.new("RGB", (48, 32), (10, 200, 10)).save(tmp_path / "start.png")  # same name, other pixels
    assert _one_id(data, tmp_path) != before

    folder = tmp_path / "pipe"
    fpkit.tiny_pipeline(seed=0).save_pretrained(folder)
    data = _data(model={"name": str(folder)})
    before = _one_id(data)
    weights = next(folder.glob("transformer/*.safetensors"))
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 0xFF  # same size, one byte of one weight changed
    weights.write_bytes(bytes(blob))
    assert _one_id(data) != before


def test_versions_are_part_of_the_id(monkeypatch):
    before = _one_id(_data())
    monkeypatch.setattr(grid_module, "RESULT_FORMAT", grid_module.RESULT_FORMAT + 1)
    assert _one_id(_data()) != before
    monkeypatch.undo()
    monkeypatch.setattr(grid_module, "_version", lambda package: "0.0.0")
    assert _one_id(_data()) != before


def test_names_are_not_part_of_the_id():
    before = _one_id(_data())
    renamed = _data(name="other")
    renamed["inputs"] = {"images": {"start": "builtin:discs"}, "prompts": {"p": "a red ball"}}
    assert _one_id(renamed) == before
