"""Export for serving (TensorFlow) and loading a model under another backend."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from conftest import random_inputs, randomize_weights
from keras_nrnm import NRNM

BACKENDS = [b for b, module in (("tensorflow", "tensorflow"), ("jax", "jax"),
                                ("torch", "torch"))
            if importlib.util.find_spec(module) is not None]


def small_model():
    inputs = keras.Input((9, 3))
    x = keras.layers.Masking(0.0)(inputs)
    x = NRNM(8, block_size=4, stride=2, window=3, num_heads=2,
             return_sequences=True)(x)
    x = NRNM(8, num_heads=2, zoneout=0.1)(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="model.export writes a TensorFlow SavedModel")
def test_export_for_serving_gives_the_same_outputs(tmp_path):
    import tensorflow as tf

    model = small_model()
    randomize_weights(model, seed=1)
    x = random_inputs((4, 9, 3), seed=2)
    x[1, -3:] = 0.0
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "served")
    model.export(path, verbose=False)
    served = tf.saved_model.load(path)
    np.testing.assert_allclose(served.serve(x).numpy(), expected, atol=1e-6)


SAVE = """
import numpy as np, keras, sys
sys.path.insert(0, {tests!r})
from test_export import small_model
from conftest import random_inputs, randomize_weights
model = small_model()
randomize_weights(model, seed=1)
x = random_inputs((4, 9, 3), seed=2)
x[1, -3:] = 0.0
model.save({path!r})
np.save({out!r}, model.predict(x, verbose=0))
"""

LOAD = """
import numpy as np, keras, sys
sys.path.insert(0, {tests!r})
import keras_nrnm
from conftest import random_inputs
x = random_inputs((4, 9, 3), seed=2)
x[1, -3:] = 0.0
model = keras.saving.load_model({path!r})
np.save({out!r}, model.predict(x, verbose=0))
"""


def run_under(backend, code):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs two Keras backends")
def test_model_saved_under_one_backend_loads_under_the_others(tmp_path):
    tests = os.path.dirname(__file__)
    for source in BACKENDS:
        path = str(tmp_path / f"{source}.keras")
        reference = str(tmp_path / f"{source}.npy")
        run_under(source, SAVE.format(tests=tests, path=path, out=reference))
        for target in BACKENDS:
            if target == source:
                continue
            out = str(tmp_path / f"{source}-in-{target}.npy")
            run_under(target, LOAD.format(tests=tests, path=path, out=out))
            np.testing.assert_allclose(np.load(out), np.load(reference),
                                       atol=1e-5, err_msg=f"{source} -> {target}")
