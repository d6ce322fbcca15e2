"""The spec: defaults, every shipped spec, and one clear paragraph (and exit 2, and no store) for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import graphspace
from graphspace import SpecError, load_spec
from graphspace.cli import main
from graphspace.spec import Spec
from graphspace.zoo.plan import plan_models
from tests.conftest import SPECS

GOOD = """\
name: broken
seed: 0
datasets:
  - {name: digits}
zoo:
  architecture: {kind: mlp, hidden: [8]}
  size: 2
  vary:
    init: [normal, glorot]
    lr: {log_uniform: [1.0e-3, 1.0e-2]}
  train: {epochs: 1}
"""

BAD = {
    "invalid YAML": (
        GOOD.replace("hidden: [8]}", "hidden: [8]"),
        ["line 7", "starts at line 6", "not valid YAML"],
    ),
    "bad name": (
        GOOD.replace("name: broken", "name: Broken-Run"),
        ["name", "line 1", "'Broken-Run'", "'^[a-z][a-z0-9_]*$'"],
    ),
    "a key given twice": (
        GOOD.replace("  train: {epochs: 1}", "  train: {epochs: 1}\n  size: 20"),
        ["zoo.size", "line 12", "given twice", "line 7"],
    ),
    "unknown key": (GOOD.replace("size: 2", "sise: 2"), ["zoo.sise", "line 7", "unknown key 'sise'", "size"]),
    "wrong type": (GOOD.replace("size: 2", "size: many"), ["zoo.size", "line 7", "'many'", "integer"]),
    "out of range": (
        GOOD.replace("seed: 0", "seed: -3"),
        ["seed", "line 2", "-3", "greater than or equal to 0"],
    ),
    "unknown dataset": (
        GOOD.replace("name: digits", "name: cifar100"),
        ["datasets[0].name", "line 4", "'cifar100'", "'mnist', 'digits' or 'mnist1d'"],
    ),
    "unknown initializer": (
        GOOD.replace("glorot]", "glorrot]"),
        ["zoo.vary.init[1]", "line 9", "'glorrot'", "'orthogonal'"],
    ),
    "unknown activation": (
        GOOD.replace("  vary:\n", "  hyper: {activation: swish}\n  vary:\n"),
        ["zoo.hyper.activation", "line 8", "'swish'", "'leaky_relu'"],
    ),
    "distribution out of range": (
        GOOD.replace("1.0e-2]", "20]"),
        ["zoo.vary.lr", "line 10", "less than or equal to 10"],
    ),
    "undeclared held-out dataset": (
        GOOD + "learn: {holdout_datasets: [mnist]}\n",
        ["learn.holdout_datasets[0]", "line 12", "dataset 'mnist' is used but not declared", "digits"],
    ),
    "every dataset held out": (
        GOOD + "learn: {holdout_datasets: [digits]}\n",
        ["learn.holdout_datasets", "line 12", "holds out every dataset the zoo trains on"],
    ),
    "sampling a held-out dataset": (
        GOOD.replace(
            "- {name: digits}", "- {name: digits}\n  - {name: upside_down, source: derived, base: digits, rotate: 180}"
        ).replace("  vary:\n", "  vary:\n    dataset: [digits, upside_down]\n")
        + "learn: {holdout_datasets: [upside_down]}\n"
        + "sample: {targets: [{accuracy: 0.9}, {dataset: upside_down, accuracy: 0.9}]}\n",
        ["sample.targets[1]", "line 15", "'upside_down' is in learn.holdout_datasets", "none to sample from"],
    ),
    "a sampling condition other than accuracy": (
        GOOD + "sample: {targets: [{accuracy: 0.9, gap: 0.02}]}\n",
        ["sample.targets[0].gap", "line 12", "unknown key 'gap'", "accuracy, dataset"],
    ),
    "unknown ablation": (
        GOOD + "learn: {ablations: [no_decoder]}\n",
        ["learn.ablations[0]", "line 12", "'no_decoder'", "'no_layer_norm' or 'no_behavior'"],
    ),
    "undeclared dataset": (
        GOOD.replace("size: 2", "size: 2\n  hyper: {dataset: mnist}"),
        ["zoo.hyper.dataset", "line 8", "dataset 'mnist' is used but not declared", "digits"],
    ),
    "undeclared sampling dataset": (
        GOOD + "sample: {targets: [{accuracy: 0.5}, {dataset: cifar10, accuracy: 0.9}]}\n",
        ["sample.targets[1].dataset", "line 12", "'cifar10'", "is used but not declared", "digits"],
    ),
}


def test_defaults_make_a_valid_spec() -> None:
    spec = Spec(name="defaults")
    assert spec.store_path == Path("store/defaults.zarr")
    assert spec.zoo.architecture.kind == "cnn" and spec.zoo.train.checkpoint_epochs() == [10]


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_spec_loads_and_plans(path: Path) -> None:
    spec = load_spec(path)
    models = plan_models(spec)
    assert len(models) == spec.zoo.size
    assert {m.dataset for m in models} <= {d.name for d in spec.datasets}


def test_default_mnist_spec_is_the_documented_zoo() -> None:
    spec = load_spec(SPECS / "mnist.yaml")
    assert spec.zoo.size >= 300 and len(spec.zoo.train.checkpoint_epochs()) == 5
    assert set(spec.zoo.vary.init) == {"normal", "glorot", "orthogonal", "he_normal", "truncated_normal"}
    assert len(spec.zoo.vary.activation) == 3
    assert {"dropout", "weight_decay", "lr"} <= set(spec.zoo.vary.varied())


def test_initializer_aliases_resolve() -> None:
    spec = Spec.model_validate({"name": "a", "zoo": {"vary": {"init": ["xavier", "kaiming_normal"]}}})
    assert spec.zoo.vary.init == ["glorot", "he_normal"]


@pytest.mark.parametrize("case", list(BAD))
def test_bad_spec_is_one_paragraph_naming_file_line_field_value_and_allowed(case: str, tmp_path: Path) -> None:
    text, expected = BAD[case]
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert str(path) in message and "\n" not in message
    for part in expected:
        assert part in message, f"{part!r} not in: {message}"


def test_missing_spec_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nowhere\.yaml does not exist"):
        load_spec(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize("case", [*BAD, "missing file"])
def test_run_with_bad_spec_exits_2_without_traceback_or_store(case: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    if case != "missing file":
        path.write_text(BAD[case][0])
    store = tmp_path / "out.zarr"
    result = CliRunner().invoke(main, ["run", str(path), "--store", str(store)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "error:" in result.output
    printed = " ".join(result.output.split())
    assert str(path) in printed
    for part in BAD[case][1] if case in BAD else []:  # printed as raised: brackets are not taken for markup
        assert part in printed, f"{part!r} not in: {printed}"
    assert not store.exists() and list(tmp_path.iterdir()) == ([path] if path.exists() else [])


def test_the_python_run_takes_a_spec_file_s_path_and_checks_it_before_any_store(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BAD["unknown key"][0])
    with pytest.raises(SpecError, match=r"broken\.yaml is invalid: zoo\.sise"):
        graphspace.run(str(path), tmp_path / "out.zarr")
    assert list(tmp_path.iterdir()) == [path]
