import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


def randomize_weights(layer, seed=0, scale=0.5):
    """Give every weight (biases and norms included) random values, so that
    a test exercises every term of the equations, not only the kernels."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        value = rng.uniform(-scale, scale, size=variable.shape)
        if "gamma" in variable.path:
            value += 1.0
        variable.assign(value.astype(variable.dtype))


def random_inputs(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")
