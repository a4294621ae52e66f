"""Serialization: configs round-trip exactly and saved models predict the same."""

import json
import zipfile

import keras
import numpy as np
import pytest
from keras import ops

from conftest import random_inputs, randomize_weights
from keras_nrnm import BidirectionalNRNM, NRNM, NRNMCell, NonLocalMemory

pytestmark = pytest.mark.core

FEATURES, STEPS = 5, 11


def nrnm(**kwargs):
    return NRNM(8, block_size=4, stride=2, window=3, num_heads=2, **kwargs)


MODELS = {
    "alone": lambda: [nrnm()],
    "stacked": lambda: [nrnm(return_sequences=True), keras.layers.LSTM(6),
                        keras.layers.Dense(3)],
    "bidirectional": lambda: [keras.layers.Bidirectional(
        nrnm(return_sequences=True)), keras.layers.GlobalAveragePooling1D()],
    "rnn_of_cells": lambda: [keras.layers.RNN(
        [NRNMCell(8, block_size=4, stride=2, window=2, num_heads=2,
                  zoneout=0.1, memory_dropout=0.2, layer_norm_epsilon=0.5),
         keras.layers.GRUCell(4)])],
    "masked": lambda: [keras.layers.Masking(0.0), nrnm(zoneout=0.2)],
    "multiscale_without_attention": lambda: [NRNM(
        8, block_size=6, strides=(1, 3), window=2, num_heads=2,
        attention=False)],
    "gru_backbone": lambda: [NRNM(8, num_heads=2, backbone="gru",
                                  return_sequences=True),
                             keras.layers.GlobalMaxPooling1D()],
    "gru_backbone_classic": lambda: [NRNM(8, backbone="gru", reset_after=False,
                                          return_sequences=True),
                                     keras.layers.GlobalMaxPooling1D()],
    "bidirectional_memory": lambda: [keras.layers.Masking(0.0),
                                     BidirectionalNRNM(8, block_size=4, stride=2,
                                                       window=2, num_heads=2)],
    "multiscale": lambda: [NRNM(8, block_size=6, strides=(1, 2, 3), window=4,
                                num_heads=2)],
    "no_output_projection": lambda: [NRNM(
        8, block_size=4, stride=2, window=2, num_heads=2,
        attention_output_projection=False)],
    "separate_gates": lambda: [NRNM(8, block_size=4, stride=2, window=2,
                                    num_heads=2, memory_gates="separate")],
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_saved_model_predicts_identically(name, tmp_path):
    inputs = keras.Input((STEPS, FEATURES))
    outputs = inputs
    for layer in MODELS[name]():
        outputs = layer(outputs)
    model = keras.Model(inputs, outputs)
    randomize_weights(model, seed=3)
    x = random_inputs((3, STEPS, FEATURES), seed=1)
    x[0, -4:] = 0.0  # padding for the masked model
    expected = ops.convert_to_numpy(model(x))
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(x)), expected)
    # Weights-only files too.
    weights_path = str(tmp_path / f"{name}.weights.h5")
    model.save_weights(weights_path)
    fresh = keras.Model.from_config(model.get_config())
    fresh.load_weights(weights_path)
    np.testing.assert_array_equal(ops.convert_to_numpy(fresh(x)), expected)


@pytest.mark.parametrize("cls,kwargs", [
    (NRNM, dict(units=8, block_size=6, stride=3, window=5, num_heads=2,
                memory_dropout=0.1, zoneout=0.2, dropout=0.1,
                recurrent_dropout=0.05, use_bias=False, unit_forget_bias=False,
                kernel_regularizer="l2", recurrent_constraint="non_neg",
                activation="relu", return_sequences=True, return_state=True,
                go_backwards=True, zero_output_for_mask=True, seed=7,
                layer_norm_epsilon=0.25)),
    (NRNMCell, dict(units=4, block_size=2, stride=1, window=1, num_heads=1,
                    bias_initializer="ones", seed=3)),
    (NonLocalMemory, dict(units=4, block_size=6, strides=(1, 3), num_heads=2,
                          attention=False)),
    (NRNM, dict(units=8, block_size=10, strides=(1, 3, 5), num_heads=2)),
    (NRNM, dict(units=8, backbone="simple", num_heads=2)),
    (NRNM, dict(units=8, backbone="gru", reset_after=False)),
    (NRNMCell, dict(units=6, backbone="gru", num_heads=3)),
    (NRNM, dict(units=8, num_heads=2, attention_output_projection=False)),
    (NRNM, dict(units=8, num_heads=2, memory_gates="separate")),
    (NRNM, dict(units=8, block_size=4, strides=(1, 2), num_heads=2,
                fusion_activation="tanh")),
    (NRNMCell, dict(units=4, block_size=4, strides=(1, 2), num_heads=1,
                    fusion_activation="linear")),
    (NonLocalMemory, dict(units=4, block_size=4, strides=(1, 2), num_heads=2,
                          fusion_activation="gelu")),
    (BidirectionalNRNM, dict(units=8, block_size=4, stride=2, num_heads=2,
                             zoneout=0.1, layer_norm_epsilon=0.5,
                             return_sequences=False)),
    (BidirectionalNRNM, dict(units=8, block_size=4, strides=(1, 2),
                             num_heads=2, fusion_activation="sigmoid")),
])
def test_config_round_trip_is_exact(cls, kwargs):
    layer = cls(**kwargs)
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == f"keras_nrnm>{cls.__name__}"
    again = keras.saving.deserialize_keras_object(serialized)
    assert again.get_config() == config
    for name, value in kwargs.items():
        if isinstance(value, (int, float, bool)) or (
                isinstance(value, str) and isinstance(config[name], str)):
            assert config[name] == value, name
        if isinstance(value, tuple):
            assert tuple(config[name]) == value, name


def _without_key(config, key):
    """`config` (nested dicts and lists) without `key` anywhere."""
    if isinstance(config, dict):
        return {k: _without_key(v, key) for k, v in config.items() if k != key}
    if isinstance(config, list):
        return [_without_key(v, key) for v in config]
    return config


def _saved_without_key(model, tmp_path, key, occurrences):
    """`model` saved as a file written before `key` existed: saved, then
    `key` removed from its config (found `occurrences` times). The path."""
    path, old_path = tmp_path / "new.keras", tmp_path / "old.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as new, zipfile.ZipFile(old_path, "w") as old:
        for item in new.infolist():
            data = new.read(item)
            if item.filename == "config.json":
                assert data.count(f'"{key}"'.encode()) == occurrences
                data = json.dumps(_without_key(json.loads(data), key)).encode()
            old.writestr(item, data)
    return old_path


def test_files_saved_without_fusion_activation_load_the_linear_fusion(tmp_path):
    # Before `fusion_activation`, Eq. 7's fusion was linear and configs had
    # no such key. Such a file (a model with a linear fusion, the key
    # removed from its configs) loads linear and predicts as it did, though
    # new layers default to ReLU.
    inputs = keras.Input((STEPS, FEATURES))
    outputs = NRNM(8, block_size=6, strides=(1, 2, 3), window=2, num_heads=2,
                   return_sequences=True, fusion_activation=None,
                   name="nrnm")(inputs)
    outputs = BidirectionalNRNM(8, block_size=4, strides=(1, 2), window=2,
                                num_heads=2, fusion_activation=None,
                                name="bi")(outputs)
    model = keras.Model(inputs, outputs)
    randomize_weights(model, seed=5)
    x = random_inputs((3, STEPS, FEATURES), seed=5)
    expected = ops.convert_to_numpy(model(x))
    old_path = _saved_without_key(model, tmp_path, "fusion_activation", 2)
    loaded = keras.saving.load_model(str(old_path))
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(x)), expected)
    for layer in (loaded.get_layer("nrnm"),
                  loaded.get_layer("bi").forward_layer):
        assert layer.get_config()["fusion_activation"] == "linear"
        fusion = layer.cell.memory.fusion
        assert keras.activations.serialize(fusion.activation) == "linear"
    # The same for each class's own config, and the default is ReLU.
    for cls, kwargs in [
            (NRNM, dict(units=8, strides=(1, 2), block_size=4, num_heads=2)),
            (NRNMCell, dict(units=8, strides=(1, 2), block_size=4,
                            num_heads=2)),
            (BidirectionalNRNM, dict(units=8, strides=(1, 2), block_size=4,
                                     num_heads=2)),
            (NonLocalMemory, dict(units=8, strides=(1, 2), block_size=4,
                                  num_heads=2))]:
        config = cls(**kwargs).get_config()
        assert config["fusion_activation"] == "relu", cls.__name__
        del config["fusion_activation"]
        legacy = cls.from_config(config).get_config()
        assert legacy["fusion_activation"] == "linear", cls.__name__


def test_files_saved_without_reset_after_load_the_classic_gru(tmp_path):
    # Before `reset_after`, the GRU backbone was the classic form (reset
    # gate before the product, a (3 units,) bias) and configs had no such
    # key. Such a file (classic GRU backbones, the key removed from its
    # configs) loads classic and predicts as it did, though new layers
    # default to Keras's `reset_after=True`.
    inputs = keras.Input((STEPS, FEATURES))
    outputs = NRNM(8, block_size=4, stride=2, window=2, backbone="gru",
                   reset_after=False, return_sequences=True,
                   name="nrnm")(inputs)
    outputs = keras.layers.RNN(
        NRNMCell(8, block_size=4, stride=2, window=3, backbone="gru",
                 reset_after=False), name="rnn")(outputs)
    model = keras.Model(inputs, outputs)
    randomize_weights(model, seed=6)
    x = random_inputs((3, STEPS, FEATURES), seed=6)
    expected = ops.convert_to_numpy(model(x))
    old_path = _saved_without_key(model, tmp_path, "reset_after", 2)
    loaded = keras.saving.load_model(str(old_path))
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(x)), expected)
    for cell in (loaded.get_layer("nrnm").cell, loaded.get_layer("rnn").cell):
        assert cell.reset_after is False
        assert tuple(cell.bias.shape) == (24,)
    # The same for each class's own config, and the default is True.
    for cls, kwargs in [
            (NRNM, dict(units=8, backbone="gru")),
            (NRNMCell, dict(units=8, backbone="gru")),
            (BidirectionalNRNM, dict(units=8, backbone="gru"))]:
        config = cls(**kwargs).get_config()
        assert config["reset_after"] is True, cls.__name__
        del config["reset_after"]
        assert cls.from_config(config).get_config()["reset_after"] is False


def test_num_heads_default_is_stored_resolved():
    # `num_heads=None` picks the largest of 4, 2, 1 dividing `units`; the
    # config holds that number, so a file keeps its attention's layout.
    for units, heads in ((8, 4), (12, 4), (6, 2), (10, 2), (3, 1), (7, 1)):
        for cls in (NRNM, NRNMCell):
            config = cls(units).get_config()
            assert config["num_heads"] == heads, (cls.__name__, units)
            assert cls.from_config(config).num_heads == heads
    assert NRNM(8, num_heads=2).get_config()["num_heads"] == 2


def test_implementation_and_use_cudnn_are_not_saved():
    # As in keras.layers.LSTM: accepted, not part of the config; a config
    # with `implementation` (Keras's GRU test adds one) still loads.
    layer = NRNM(8, implementation=1, use_cudnn=False)
    config = layer.get_config()
    assert "implementation" not in config and "use_cudnn" not in config
    assert layer.use_cudnn is False and layer.cell.implementation == 1
    clone = NRNM.from_config({**config, "implementation": 0})
    assert clone.get_config() == config
    assert "implementation" not in NRNMCell(8, implementation=2).get_config()


def test_files_saved_by_version_0_1_load_and_predict_the_same():
    # tests/data/nrnm-0.1.keras: NRNM + BidirectionalNRNM saved by version
    # 0.1 (tied Eq. 9 gates, no `memory_gates` in the configs), with the
    # outputs it gave then.
    import os

    data = os.path.join(os.path.dirname(__file__), "data")
    model = keras.saving.load_model(os.path.join(data, "nrnm-0.1.keras"))
    io = np.load(os.path.join(data, "nrnm-0.1-io.npz"))
    np.testing.assert_allclose(ops.convert_to_numpy(model(io["x"])), io["y"],
                               atol=1e-6)
    assert model.get_layer("nrnm").cell.memory_gates == "tied"
    assert model.get_layer("bi").forward_layer.cell.memory_gates == "tied"


def test_nrnm_takes_every_cell_argument_with_the_same_default():
    # NRNM repeats NRNMCell's arguments in its signature (for help() and
    # IDEs); this keeps the two in step, defaults included, and in order.
    import inspect

    from keras_nrnm.layer import CELL_ARGS

    cell = inspect.signature(NRNMCell.__init__).parameters
    layer = inspect.signature(NRNM.__init__).parameters
    assert [name for name in layer if name in CELL_ARGS] == list(CELL_ARGS)
    for name in CELL_ARGS:
        assert layer[name].default == cell[name].default, name
    config = NRNM(8, num_heads=2).get_config()
    assert set(CELL_ARGS) <= set(config)
