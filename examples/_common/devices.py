"""Data-parallel training over the backend's devices (`--distribute`), and
the data splits that depend on it.

- `--distribute local` (or plain `--distribute`): every device of this
  machine, `tf.distribute.MirroredStrategy` on TensorFlow,
  `keras.distribution.DataParallel` on JAX.
- `--distribute multi-worker`: several processes, usually one per machine,
  each running the same command: `tf.distribute.MultiWorkerMirroredStrategy`
  configured by `TF_CONFIG` on TensorFlow, `keras.distribution.initialize`
  (`jax.distributed.initialize`, configured by the `KERAS_DISTRIBUTION_*`
  variables) then `keras.distribution.DataParallel` over the devices of all
  processes on JAX. See `docs/distributed.md`.
"""

import contextlib
import json
import os

import numpy as np

from _common.startup import load_keras

LOCAL = "local"
MULTI_WORKER = "multi-worker"
MODES = (LOCAL, MULTI_WORKER)

# What `join_cluster` found: this process's place in the cluster.
_cluster = None


class _Cluster:
    def __init__(self, rank, workers, strategy=None):
        self.rank = rank          # 0 is the chief
        self.workers = workers    # processes in the cluster
        self.strategy = strategy  # TensorFlow only


def join_cluster(args):
    """`--distribute multi-worker`: connect to the other workers.

    Called by `parse_args` before anything else touches the backend: the
    collective ops of `MultiWorkerMirroredStrategy` must be configured at
    start-up, and `jax.distributed.initialize` must precede JAX's first
    computation. Workers other than the chief write their outputs to
    `<output-dir>-worker<rank>`, so that no two processes write one file.
    """
    global _cluster
    keras = load_keras()  # not at import: `--help` stays fast
    backend = keras.backend.backend()
    if backend == "tensorflow":
        if not os.environ.get("TF_CONFIG"):
            raise SystemExit(
                "--distribute multi-worker on TensorFlow reads the cluster "
                "from the TF_CONFIG environment variable, which is not set "
                "(see docs/distributed.md)")
        import tensorflow as tf

        from keras_nrnm._keras_internals import patch_multi_worker_fit

        # Keras's fit fails under this strategy (keras-team/keras#20585):
        # see docs/distributed.md.
        patch_multi_worker_fit()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _cluster = _Cluster(_tf_rank(json.loads(os.environ["TF_CONFIG"])),
                            _tf_workers(json.loads(os.environ["TF_CONFIG"])),
                            strategy)
    elif backend == "jax":
        import jax

        try:
            # Reads KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and
            # _PROCESS_ID; without them JAX detects its cluster (SLURM, ...).
            keras.distribution.initialize()
        except (RuntimeError, ValueError) as error:
            raise SystemExit(
                "--distribute multi-worker on JAX could not join the cluster "
                f"({error}); set KERAS_DISTRIBUTION_JOB_ADDRESSES, "
                "KERAS_DISTRIBUTION_NUM_PROCESSES and "
                "KERAS_DISTRIBUTION_PROCESS_ID (see docs/distributed.md)")
        _cluster = _Cluster(jax.process_index(), jax.process_count())
    else:
        raise SystemExit(
            f"--distribute supports the tensorflow and jax backends, not {backend}")
    if _cluster.rank:
        args.output_dir = f"{args.output_dir}-worker{_cluster.rank}"
    print(f"Multi-worker: this is worker {_cluster.rank} of "
          f"{_cluster.workers}" + (" (chief)" if not _cluster.rank else "")
          + f"; outputs in {args.output_dir}")


def _tf_workers(config):
    cluster = config.get("cluster", {})
    return len(cluster.get("chief", [])) + len(cluster.get("worker", []))


def _tf_rank(config):
    """0 for the chief (the `chief` task, else worker 0), then the workers."""
    task = config.get("task", {})
    if task.get("type") == "chief":
        return 0
    return int(task.get("index", 0)) + len(config.get("cluster", {}).get("chief", []))


class Devices:
    """What `--distribute` set up: a scope for building the model, and the
    number of replicas (1 without `--distribute`)."""

    def __init__(self, args):
        self.count = 1
        self.kind = "single device"
        self._global_batch = args.batch_size
        # Processes that each feed a share of every batch: 1 except with
        # `--distribute multi-worker` on JAX (TensorFlow's strategy shards
        # the batches itself).
        self.processes, self.rank = 1, 0
        self._strategy = None
        if not args.distribute:
            return
        keras = load_keras()
        backend = keras.backend.backend()
        if args.distribute == MULTI_WORKER:
            self._multi_worker(args, backend)
        elif backend == "tensorflow":
            import tensorflow as tf

            devices = (tf.config.list_logical_devices("GPU")
                       or tf.config.list_logical_devices("CPU"))
            self._strategy = tf.distribute.MirroredStrategy(
                [device.name for device in devices])
            self.count = self._strategy.num_replicas_in_sync
            self.kind = f"tf.distribute.MirroredStrategy over {self.count} devices"
        elif backend == "jax":
            devices = keras.distribution.list_devices()
            keras.distribution.set_distribution(
                keras.distribution.DataParallel(devices=devices))
            self.count = len(devices)
            self.kind = f"keras.distribution.DataParallel over {self.count} devices"
        else:
            raise SystemExit(
                f"--distribute supports the tensorflow and jax backends, not {backend}")
        if args.batch_size % self.count:
            raise SystemExit(f"--batch-size {args.batch_size} must be a multiple "
                             f"of the {self.count} devices")
        print(f"Data-parallel: {self.kind}; global batch {args.batch_size} = "
              f"{args.batch_size // self.count} per device")

    def _multi_worker(self, args, backend):
        keras = load_keras()
        if _cluster is None:
            raise RuntimeError("join_cluster(args) must run first (parse_args)")
        workers = _cluster.workers
        if backend == "tensorflow":
            self._strategy = _cluster.strategy
            self.count = self._strategy.num_replicas_in_sync
            self.kind = (f"tf.distribute.MultiWorkerMirroredStrategy, {workers} "
                         f"workers, {self.count} replicas")
        else:
            devices = keras.distribution.list_devices()  # of every process
            distribution = keras.distribution.DataParallel(devices=devices)
            # Keras shards only a tf.data.Dataset itself; the examples' NumPy
            # arrays are sharded here (`shard`), each process feeding its own
            # rows of every global batch.
            distribution.auto_shard_dataset = False
            keras.distribution.set_distribution(distribution)
            self.count = len(devices)
            self.processes, self.rank = workers, _cluster.rank
            self.kind = (f"keras.distribution.DataParallel, {workers} "
                         f"processes, {self.count} devices")

    @property
    def batch_size(self):
        """`batch_size` for `fit` in this process: the global batch, or its
        share with one process per JAX worker."""
        return self._global_batch // self.processes

    def shard(self, args, *arrays):
        """This process's rows of `arrays` (whole global batches): of every
        global batch, the `rank`-th of `processes` equal slices. That is the
        order in which JAX assembles a global batch from the processes'
        shares, and the one TensorFlow's DATA auto-sharding uses."""
        if self.processes == 1:
            return arrays
        count = len(_first(arrays[0]))
        share = args.batch_size // self.processes
        rows = np.arange(count).reshape(-1, self.processes, share)[:, self.rank]
        return tuple(_take(a, rows.ravel()) for a in arrays)

    def scope(self):
        """Build and compile the model inside this scope."""
        if self._strategy is not None:
            return self._strategy.scope()
        return contextlib.nullcontext()


def whole_batches(args, devices, *arrays):
    """With `--distribute`, keep a multiple of the global batch size.

    Every replica must get an equal share of every batch (JAX cannot shard
    an odd batch, and TensorFlow scales each replica's mean loss as if the
    shares were equal), so the last partial batch is dropped. Without
    `--distribute` the arrays are returned unchanged. With
    `--distribute multi-worker` on JAX, each process gets its share of every
    batch (`Devices.shard`).
    """
    if devices.count == 1:
        return arrays
    count = len(_first(arrays[0]))
    keep = count - count % args.batch_size
    if keep < count:
        print(f"--distribute: dropping the last {count - keep} of {count} "
              "samples so that every batch splits evenly")
    arrays = tuple(_take(a, slice(0, keep)) for a in arrays)
    return devices.shard(args, *arrays)


def predict(model, x, args, devices):
    """`model.predict` that also works when the sample count does not split
    evenly over the devices: the input is padded by repeating its first
    sample, and the padding is dropped from the output. Every process of a
    multi-worker run gets the predictions of all of `x`."""
    count = len(_first(x))
    extra = (-count) % args.batch_size if devices.count > 1 else 0
    if extra:
        x = _map(lambda a: np.concatenate([a, np.repeat(a[:1], extra, 0)]), x)
    # With one process per JAX worker each feeds its share of every batch;
    # the outputs come back as global batches, in the order of `x`.
    (x,) = devices.shard(args, x)
    if devices.processes > 1:
        return _predict_across_processes(model, x, args, devices)[:count]
    out = model.predict(x, batch_size=args.batch_size, verbose=0)
    return out[:count]


def _predict_across_processes(model, x, args, devices):
    """`model.predict` for JAX with one process per worker, `x` being this
    process's share (`Devices.shard`). `model.predict` returns a batch
    sharded over the processes (which NumPy cannot read from one process);
    here the forward pass is compiled with a replicated output, so every
    process gets the whole batch."""
    import jax

    keras = load_keras()
    distribution = keras.distribution.distribution()
    replicated = jax.sharding.NamedSharding(
        distribution.device_mesh.backend_mesh, jax.sharding.PartitionSpec())

    @jax.jit
    def forward(trainable, non_trainable, inputs):
        outputs, _ = model.stateless_call(trainable, non_trainable, inputs,
                                          training=False)
        return jax.lax.with_sharding_constraint(outputs, replicated)

    def global_batch(local):
        shape = (args.batch_size, *local.shape[1:])
        layout = distribution.get_data_layout(shape).backend_layout
        return jax.make_array_from_process_local_data(layout, local, shape)

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    share = devices.batch_size
    outputs = []
    for start in range(0, len(_first(x)), share):
        batch = _map(global_batch, _take(x, slice(start, start + share)))
        outputs.append(np.asarray(forward(trainable, non_trainable, batch)))
    return np.concatenate(outputs)



def _first(x):
    return x[0] if isinstance(x, (list, tuple)) else x


def _map(fn, x):
    if isinstance(x, (list, tuple)):
        return type(x)(fn(a) for a in x)
    return fn(x)


def _take(x, index):
    return _map(lambda a: a[index], x)


def split_validation(fraction, seed, *arrays):
    """Hold out `fraction` of the samples (at random) to watch overfitting.

    Returns `(train_arrays, validation_arrays)`. The validation part only
    draws the learning curves; the figures reported are on the test split.
    """
    count = len(_first(arrays[0]))
    order = np.random.default_rng(seed).permutation(count)
    cut = int(round(count * (1 - fraction)))
    train = tuple(_take(a, order[:cut]) for a in arrays)
    validation = tuple(_take(a, order[cut:]) for a in arrays)
    return train, validation
