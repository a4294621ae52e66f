"""Data-parallel training over the backend's devices (`--distribute`), and
the data splits that depend on it."""

import contextlib

import keras
import numpy as np


class Devices:
    """What `--distribute` set up: a scope for building the model, and the
    number of replicas (1 without `--distribute`)."""

    def __init__(self, args):
        self.count = 1
        self.kind = "single device"
        self._strategy = None
        if not args.distribute:
            return
        backend = keras.backend.backend()
        if backend == "tensorflow":
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
    `--distribute` the arrays are returned unchanged.
    """
    if devices.count == 1:
        return arrays
    count = len(_first(arrays[0]))
    keep = count - count % args.batch_size
    if keep < count:
        print(f"--distribute: dropping the last {count - keep} of {count} "
              "samples so that every batch splits evenly")
    return tuple(_take(a, slice(0, keep)) for a in arrays)


def predict(model, x, args, devices):
    """`model.predict` that also works when the sample count does not split
    evenly over the devices: the input is padded by repeating its first
    sample, and the padding is dropped from the output."""
    count = len(_first(x))
    extra = (-count) % args.batch_size if devices.count > 1 else 0
    if extra:
        x = _map(lambda a: np.concatenate([a, np.repeat(a[:1], extra, 0)]), x)
    out = model.predict(x, batch_size=args.batch_size, verbose=0)
    return out[:count]


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
