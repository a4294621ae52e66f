"""What an example does before Keras is imported, so that `--help` answers
at once and the first lines a newcomer sees are the example's own.

Importing Keras loads the backend (TensorFlow by default), which takes from
a few seconds to half a minute and prints C++ log lines, some of them
error-level although harmless (`failed call to cuInit` on a machine with the
CUDA libraries but no GPU driver). The examples therefore parse their
command line first, say what they are doing, and import Keras through
`load_keras`, which drops those known start-up lines; everything else the
backend writes is passed on. Set `TF_CPP_MIN_LOG_LEVEL` yourself (e.g. to 0)
to see every line: the examples then filter nothing.
"""

import contextlib
import logging
import os
import sys
import tempfile

# Start-up lines of TensorFlow, XLA and JAX that say nothing is wrong (see
# "Log lines at start-up" in docs/installation.md).
HARMLESS = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "Could not find cuda drivers on your machine",
    "failed call to cuInit",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions",
    "CUDA-enabled jaxlib is not installed",
)

_USER_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ


def quiet_backend():
    """Before Keras is imported: fewer backend log lines, and every printed
    line shown at once (also through a pipe or into a log file)."""
    # 3: TensorFlow's C++ code logs fatal errors only, once it has read this.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not _USER_LOG_LEVEL:
        # JAX's "no CUDA-enabled jaxlib" warning on a CPU-only install.
        logging.getLogger("jax._src.xla_bridge").setLevel(logging.ERROR)
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(line_buffering=True)


@contextlib.contextmanager
def filtered_stderr(patterns=HARMLESS):
    """Holds back what is written to file descriptor 2 (C++ logs included)
    inside the block, then writes it out without the lines that contain one
    of `patterns`."""
    if _USER_LOG_LEVEL:  # the user asked for the backend's logs
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            for line in text.splitlines(keepends=True):
                if not any(pattern in line for pattern in patterns):
                    sys.stderr.write(line)
            sys.stderr.flush()


def load_keras():
    """Imports Keras and starts its backend's devices (where the CUDA
    start-up lines are logged) with the harmless lines filtered out."""
    with filtered_stderr():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # Lists the devices without fixing their configuration, so
            # `--cpu-devices` can still split the CPU afterwards.
            tf.config.list_physical_devices()
    return keras
