import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.hookimpl(optionalhook=True)  # so that `-p no:xdist` works too
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (the README's command): one worker per core this process may
    use, at most 4 (each worker holds a backend, and the example tests start
    processes of their own). PYTEST_XDIST_AUTO_NUM_WORKERS still overrides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count() or 1)
    return max(1, min(4, cores))


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")
    if keras.backend.backend() == "jax" and _memory_map_count() > 30000:
        _release_jax_executables()


def _memory_map_count():
    """How many memory maps this process holds (0 where /proc is missing)."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            return sum(1 for _ in maps)
    except OSError:
        return 0


def _release_jax_executables():
    """Drop JAX's compiled programs.

    Each program XLA compiles for the CPU holds its own memory maps, and JAX
    keeps every program it compiled. The core tests compile enough of them to
    reach the kernel's limit on maps per process (`vm.max_map_count`, 65530 by
    default), where the next compilation dies with a segmentation fault. Only
    done near the limit: recompiling after every test made the JAX run take
    23 minutes instead of 13.
    """
    import jax

    keras.backend.clear_session()
    jax.clear_caches()
    gc.collect()


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
