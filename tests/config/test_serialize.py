"""Round trips of the plugin's own config format and its error messages."""

import json

import pytest

from napari_sleap_train.config.model import (
    ModelKind,
    PipelineConfig,
    PipelineKind,
    PredictOn,
    TrainingConfig,
)
from napari_sleap_train.config.serialize import (
    ConfigError,
    from_dict,
    load_json,
    save_json,
    to_dict,
)


def _pipeline() -> PipelineConfig:
    p = PipelineConfig(
        kind=PipelineKind.TOP_DOWN,
        models={
            ModelKind.CENTROID: TrainingConfig(kind=ModelKind.CENTROID),
            ModelKind.CENTERED_INSTANCE: TrainingConfig(kind=ModelKind.CENTERED_INSTANCE),
        },
        anchor_part="thorax",
        predict_on=PredictOn.RANDOM_FRAMES,
    )
    p.models[ModelKind.CENTERED_INSTANCE].data.crop_size = 96
    p.models[ModelKind.CENTROID].optimization.early_stopping.patience = 3
    return p


def test_pipeline_round_trip_through_json_file(tmp_path):
    p = _pipeline()
    path = save_json(p, tmp_path / "config.json")
    text = json.loads(path.read_text())
    assert text["kind"] == "top-down"
    assert text["models"]["centered_instance"]["data"]["crop_size"] == 96
    q = load_json(PipelineConfig, path)
    assert q == p
    assert isinstance(q.models[ModelKind.CENTROID], TrainingConfig)


def test_missing_keys_take_defaults():
    cfg = from_dict(TrainingConfig, {"kind": "centered_instance", "data": {"crop_size": 64}})
    assert cfg.kind is ModelKind.CENTERED_INSTANCE
    assert cfg.data.crop_size == 64
    assert cfg.optimization.early_stopping.patience == 15
    assert cfg.optimization.learning_rate == 1e-4
    assert cfg.optimization.batch_size == 4


def test_trained_models_carry_the_anchor_part_and_leave_the_pipeline_as_it_is():
    p = _pipeline()
    p.models[ModelKind.SINGLE_INSTANCE] = TrainingConfig(kind=ModelKind.CENTROID)  # left over from a switch
    trained = p.trained_models()
    assert list(trained) == [ModelKind.CENTROID, ModelKind.CENTERED_INSTANCE]
    assert all(m.head.anchor_part == "thorax" for m in trained.values())
    assert [m.kind for m in trained.values()] == list(trained)
    # stored once: the pipeline's own model configs are not touched
    assert all(m.head.anchor_part is None for m in p.models.values())
    trained[ModelKind.CENTROID].optimization.epochs = 3
    assert p.models[ModelKind.CENTROID].optimization.epochs != 3


def test_settings_are_evented():
    p = _pipeline()
    seen = []
    cfg = p.models[ModelKind.CENTROID]
    cfg.optimization.events.batch_size.connect(lambda new, old: seen.append((new, old)))
    cfg.events.connect(lambda info: seen.append(info.path))
    cfg.optimization.batch_size = 8
    cfg.optimization.batch_size = 8  # unchanged: no signal
    assert seen[0] == (8, 4)
    assert len(seen) == 2


@pytest.mark.parametrize(
    "data, words",
    [
        ({"optimizaton": {}}, "unknown setting(s) optimizaton"),
        ({"kind": "centroids"}, "is not one of"),
        ({"optimization": {"batch_size": 2.5}}, "expected a whole number"),
        ({"optimization": {"learning_rate": "fast"}}, "expected a number"),
        ({"augmentation": {"rotate": "yes"}}, "expected true or false"),
    ],
)
def test_bad_settings_name_the_problem(data, words):
    with pytest.raises(ConfigError, match=None) as info:
        from_dict(TrainingConfig, data)
    assert words in str(info.value)


def test_load_json_errors_are_plain(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_json(TrainingConfig, tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_json(TrainingConfig, bad)
    arr = tmp_path / "list.json"
    arr.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="does not hold"):
        load_json(TrainingConfig, arr)


def test_to_dict_is_json_compatible():
    json.dumps(to_dict(_pipeline()))
