"""Scenario recipes (scenarios/*.toml): validation, building over a tiny dataset, the CLI group."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from synprobe.errors import InvalidRecipe
from synprobe.noise import flip_count
from synprobe.scenarios import Stream
from synprobe.scenarios.recipe import KINDS, build, list_scenarios, load_scenario, scenario_from_dict

REQUIRED = {"scole-10c-2pt", "scole-longtail", "cir", "class-inc-5x2", "domain-inc-fonts", "drift-scale",
            "noisy-40-sym", "noisy-attr"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from synprobe.generator import generate

    out = tmp_path_factory.mktemp("scen") / "a.h5"
    generate("default", 800, out, workers=1, resolution=8)
    return out


def test_bundled_scenarios_validate():
    names = set(list_scenarios())
    assert REQUIRED <= names
    for name in names:
        s = load_scenario(name)
        assert s.kind in KINDS and s.description and "\n" not in s.description
        assert scenario_from_dict(s.to_dict(), source="x") == scenario_from_dict(s.to_dict(), source="x")


def test_scole_protocol():
    s = load_scenario("scole-10c-2pt")
    assert (s.kind, s.law, s.params["n_classes"], s.params["classes_per_task"], s.params["n_tasks"]) == \
        ("recurring", {"name": "uniform"}, 10, 2, 500)
    assert s.params["val_fraction"] == 0.1


BASE = {"kind": "recurring", "classes_per_task": 2, "n_tasks": 5}
BAD = [
    ({**BASE, "kind": "recuring"}, "kind", "did you mean 'recurring'"),
    ({**BASE, "n_taks": 3}, "n_taks", "did you mean 'n_tasks'"),
    ({**BASE, "law": {"name": "unifrom"}}, "law.name", "did you mean 'uniform'"),
    ({**BASE, "law": {"name": "zipf", "b": 1}}, "law.b", "expected one of"),
    ({**BASE, "n_tasks": "many"}, "n_tasks", "expected an integer"),
    ({**BASE, "n_tasks": 0}, "n_tasks", "out of range"),
    ({**BASE, "val_fraction": 1.0}, "val_fraction", "out of range"),
    ({"kind": "recurring", "classes_per_task": 2}, "n_tasks", "missing"),
    ({"kind": "recurring", "n_tasks": 4}, "classes_per_task", "missing"),
    ({**BASE, "law": {"name": "cir"}}, "classes_per_task", "cir"),
    ({**BASE, "noise": {"model": "uniform_othr", "rate": 0.4}}, "noise.model", "did you mean 'uniform_other'"),
    ({**BASE, "noise": {"model": "uniform_other"}}, "noise.rate", "missing"),
    ({**BASE, "noise": {"model": "uniform_other", "rate": 1.5}}, "noise.rate", "out of range"),
    ({**BASE, "noise": {"model": "uniform_other", "rate": 0.1, "rat": 1}}, "noise.rat", "expected one of"),
    ({**BASE, "noise": {"model": "attribute_dependent", "rate": 0.1}}, "noise.weights", "missing"),
    ({**BASE, "noise": {"model": "attribute_dependent", "rate": 0.1, "weights": {"scale": "x"}}},
     "noise.weights.scale", "finite number"),
    ({**BASE, "ood": "font"}, "ood", "list of split names"),
    ({**BASE, "seed": -1}, "seed", "out of range"),
    ({"kind": "drift", "n_tasks": 3}, "attribute", "missing"),
    ({"kind": "drift", "n_tasks": 3, "attribute": "scale", "schedule": "sine"}, "schedule", "expected one of"),
    ({"kind": "class_incremental", "law": "uniform"}, "law", "unknown field"),
    ({"kind": "domain_incremental", "domain": "font", "n_groups": 0}, "n_groups", "out of range"),
]


@pytest.mark.parametrize("recipe,path,needle", BAD, ids=[b[1] + ":" + b[2][:12] for b in BAD])
def test_bad_recipes_one_line(recipe, path, needle):
    with pytest.raises(InvalidRecipe) as e:
        scenario_from_dict(recipe, source="scenarios/bad.toml")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"scenarios/bad.toml: {path}: "), msg
    assert needle in msg


def test_bad_file(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text('kind = "recurring"\nn_tasks = 3\nclasses_per_task = 2\n[law]\nname = "zipff"\n')
    with pytest.raises(InvalidRecipe, match=r"x\.toml: law\.name: unknown 'zipff' \(did you mean 'zipf'\?\)"):
        load_scenario(p)
    p.write_text("kind = \n")
    with pytest.raises(InvalidRecipe, match="not valid TOML"):
        load_scenario(p)
    with pytest.raises(InvalidRecipe, match="did you mean 'cir'"):
        load_scenario("cirr")


def _small(name):
    s = load_scenario(name)
    return {"n_tasks": 20} if "n_tasks" in s.params and s.params["n_tasks"] > 20 else None


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_build_bundled(data, name, tmp_path):
    spec = load_scenario(name)
    st = build(spec, data, overrides=_small(name))
    assert len(st) >= 1 and len(st.indices) > 0
    assert "iid" in st.eval_sets and any(k.startswith("ood_") for k in st.eval_sets)
    seen = np.concatenate([st.indices, st.val_indices if st.val_indices is not None else []]).astype(np.int64)
    for rows in st.eval_sets.values():
        assert not np.isin(rows, seen).any()
    assert st.spec["recipe"]["name"] == name and st.spec["kind"] == spec.kind
    assert len(st.spec["data"]["sha256"]) == 64 and st.spec["data"]["file"] == "a.h5"
    if spec.kind == "recurring" and spec.law["name"] != "cir":
        assert np.all(np.diff(st.class_offsets) == spec.params["classes_per_task"])
        assert len(np.unique(st.class_indices)) <= spec.params["n_classes"]
    if spec.kind == "class_incremental":
        assert len(st) == 5 and np.all(np.diff(st.class_offsets) == 2)
        assert len(np.unique(st.class_indices)) == 10
    if spec.kind == "domain_incremental":
        assert len(st) == 5 and len(st.spec["group_names"]) == 5
    if spec.noise is not None:
        rows, first = np.unique(st.indices, return_index=True)
        true, obs = st.labels_true[first], st.labels_observed[first]
        assert int((true != obs).sum()) == flip_count(spec.noise["rate"], len(rows))
        assert st.spec["noise"]["n_flipped"] == flip_count(spec.noise["rate"], len(rows))
        # a row keeps one (noisy) label in every task it recurs in
        pos = np.searchsorted(rows, st.indices)
        assert np.array_equal(st.labels_observed, obs[pos])
        assert set(np.unique(obs)) <= set(np.unique(st.class_indices))
    else:
        assert st.labels_true is None
    out = st.save(tmp_path / "s.npz")
    back = Stream.load(out)
    assert np.array_equal(back.indices, st.indices) and back.spec == st.spec


def test_build_seed_and_overrides(data):
    a = build("scole-10c-2pt", data, overrides={"n_tasks": 7})
    b = build("scole-10c-2pt", data, seed=5, overrides={"n_tasks": 7})
    assert len(a) == 7 and a.seed == 1664 and b.seed == 5
    assert np.array_equal(build("scole-10c-2pt", data, overrides={"n_tasks": 7}).indices, a.indices)
    with pytest.raises(InvalidRecipe, match="n_taks"):
        build("scole-10c-2pt", data, overrides={"n_taks": 7})


def test_build_data_errors(data, tmp_path):
    with pytest.raises(InvalidRecipe, match=r"noise\.weights\.scal\b.*did you mean 'scale'"):
        build(scenario_from_dict({**BASE, "n_classes": 5, "noise": {
            "model": "attribute_dependent", "rate": 0.2, "weights": {"scal": 1.0}}}, "r.toml"), data)
    with pytest.raises(InvalidRecipe, match="r.toml: .*ood"):
        build(scenario_from_dict({**BASE, "ood": ["nope"]}, "r.toml"), data)
    with pytest.raises(InvalidRecipe, match="no such dataset file"):
        build("cir", tmp_path / "missing.h5")


def test_cli(data, tmp_path):
    from synprobe.cli.scenario import scenario

    r = CliRunner()
    res = r.invoke(scenario, ["list"])
    assert res.exit_code == 0 and "scole-10c-2pt" in res.output and "recurring" in res.output
    out = tmp_path / "s.npz"
    res = r.invoke(scenario, ["build", "noisy-40-sym", "--data", str(data), "-o", str(out), "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert "100 tasks" in res.output and "eval sets: iid" in res.output and "noise: uniform_other" in res.output
    png = tmp_path / "t.png"
    res = r.invoke(scenario, ["show", str(out), "-o", str(png)])
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = r.invoke(scenario, ["build", "scole-10c-2pt", "--data", str(data), "-o", str(out)])
    assert res.exit_code == 0 and "500 tasks" in res.output
    res = r.invoke(scenario, ["show", str(out), "-o", str(png)])  # 500 tasks: binned columns
    assert res.exit_code == 0, res.output
    res = r.invoke(scenario, ["build", "nope", "--data", str(data), "-o", str(out)])
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "bundled scenarios" in res.output
    res = r.invoke(scenario, ["show", str(tmp_path / "none.npz"), "-o", str(png)])
    assert res.exit_code == 1 and "no such file" in res.output


def test_noise_scope_task_flips_exactly_per_task(data):
    from synprobe.noise import flip_count

    st = build("noisy-40-sym", data, overrides={"n_tasks": 9, "noise": {"model": "uniform_other", "rate": 0.4,
                                                                        "scope": "task"}})
    assert st.spec["noise"]["scope"] == "task"
    for t in range(len(st)):
        a, b = st.offsets[t], st.offsets[t + 1]
        flipped = st.labels_true[a:b] != st.labels_observed[a:b]
        assert flipped.sum() == flip_count(0.4, b - a)


def test_noise_scope_is_validated(tmp_path):
    from synprobe.errors import InvalidRecipe

    p = tmp_path / "s.toml"
    p.write_text('kind = "recurring"\nn_tasks = 3\nclasses_per_task = 2\n[noise]\nmodel = "uniform_other"\n'
                 'rate = 0.2\nscope = "sample"\n')
    with pytest.raises(InvalidRecipe, match=r"noise\.scope.*'row', 'task'"):
        load_scenario(p)


def test_experiment_recipes_build(data, tmp_path, runner):
    st = build("noisy-40-sym-joint", data)
    assert len(st) == 1 and list(st.eval_sets) == ["iid"]  # ood = []: every train row of the 10 classes
    assert len(np.unique(st.class_indices)) == 10
    assert st.val_indices is None or len(st.val_indices) == 0
    import shutil

    from synprobe.cli import main

    with pytest.raises(InvalidRecipe, match="scale_large"):
        build("ood-font-scale", data)
    f = tmp_path / "d.h5"
    shutil.copy(data, f)
    for rng, name in (("0,0.7", "scale_large"), ("0.5,inf", "scale_small")):
        r = runner.invoke(main, ["split", str(f), "--kind", "extrapolation", "--by", "scale", "--range", rng,
                                 "--name", name])
        assert r.exit_code == 0, r.output
    st = build("ood-font-scale", f)
    assert set(st.eval_sets) == {"iid", "ood_stratified_font", "ood_scale_large", "ood_scale_small"}
    from synprobe.load import read_table

    scale = read_table(f).columns["scale"]
    scale = scale[:, 0] if scale.ndim == 2 else scale
    assert scale[st.indices].min() >= 0.5 and scale[st.indices].max() <= 0.7  # trained on the window only
    assert scale[st.eval_sets["ood_scale_large"]].min() > 0.7 and scale[st.eval_sets["ood_scale_small"]].max() < 0.5
