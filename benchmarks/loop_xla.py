"""Would XLA on NRNM's loop alone help where Keras leaves XLA off? (TensorFlow)

Keras's `jit_compile="auto"` resolves to `False` for NRNM and LSTM models on
TensorFlow, so most users run the fast path's loop op by op. This experiment
compiles only the layer's loop with XLA (`tf.function(jit_compile=True)`
around `NRNM.inner_loop`), the model itself not compiled, and times it side
by side with the plain layer, Keras's LSTM, and both models compiled whole
(`jit_compile=True`):

    python benchmarks/loop_xla.py --batch 50 --length 200 --features 2 --units 64
    python benchmarks/loop_xla.py --batch 16 --length 100 --features 150 --units 128

A gradient cannot flow out of an XLA function through the TensorLists that
the loop's forward pass stores for its backward pass ("TensorList crossing
the XLA/TF boundary"), so in training the compiled loop gets a custom
gradient that recomputes the forward pass inside a second compiled function
and differentiates it there. Unmasked inputs only (masked calls run the
plain loop). Times: `fit` over `--steps` batches, best of `--repeats`
rounds, the models in turn within each round; `predict` likewise. Read the
ratios, not the absolute times. Results: docs/benchmarks.md, "XLA on the
loop alone".
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

MODELS = ("lstm", "nrnm", "nrnm_loop_xla", "lstm_model_xla", "nrnm_model_xla")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in (("batch", 50), ("length", 200), ("features", 2),
                          ("units", 64), ("steps", 10), ("repeats", 3)):
        parser.add_argument(f"--{name}", type=int, default=default)
    return parser.parse_args(argv)


def compiled_loop(layer_class):
    """`layer_class.inner_loop` with the unmasked loop compiled by XLA, its
    gradient recomputed inside a second compiled function."""
    import tensorflow as tf

    from keras_nrnm.layer import MaskAndStart

    plain = layer_class.inner_loop

    def inner_loop(self, sequences, initial_state, mask, training=False):
        options = {}
        if isinstance(mask, MaskAndStart):
            mask, options["counters_at_zero"] = mask
        if mask is not None or self.unroll:
            return plain(self, sequences, initial_state,
                         MaskAndStart(mask, options.get("counters_at_zero",
                                                        False)),
                         training=training)
        compiled = self.__dict__.setdefault("_compiled_loops", {})
        if training not in compiled:
            compiled[training] = _compile(self, plain, training, options)
        last, outputs, *states = compiled[training](sequences, *initial_state)
        return last, outputs, list(states)

    def _compile(layer, plain, training, options):
        def forward(sequences, *initial_state):
            last, outputs, states = plain(layer, sequences, list(initial_state),
                                          None, training=training, **options)
            return [last, outputs, *states]

        forward_xla = tf.function(forward, jit_compile=True,
                                  reduce_retracing=True)

        @tf.function(jit_compile=True, reduce_retracing=True)
        def gradient_xla(sequences, initial_state, output_gradients):
            weights = [v.value for v in layer.trainable_variables]
            with tf.GradientTape() as tape:
                tape.watch(sequences)
                tape.watch(initial_state)
                outputs = forward(sequences, *initial_state)
            return tape.gradient(
                outputs, [sequences, *initial_state, *weights],
                output_gradients=list(output_gradients),
                unconnected_gradients=tf.UnconnectedGradients.ZERO)

        @tf.custom_gradient
        def run(sequences, *initial_state):
            def gradient(*output_gradients, variables=None):
                grads = gradient_xla(sequences, list(initial_state),
                                     list(output_gradients))
                inputs = 1 + len(initial_state)
                by_weight = {id(v.value): g for v, g in
                             zip(layer.trainable_variables, grads[inputs:])}
                return grads[:inputs], [by_weight.get(id(v), tf.zeros_like(v))
                                        for v in variables or ()]
            return forward_xla(sequences, *initial_state), gradient

        return run

    return inner_loop


def build(args, name):
    import keras

    from keras_nrnm import NRNM

    recurrent = (keras.layers.LSTM(args.units) if name.startswith("lstm")
                 else NRNM(args.units))
    model = keras.Sequential([keras.Input((args.length, args.features)),
                              recurrent,
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3),
                  "sparse_categorical_crossentropy",
                  jit_compile=name.endswith("model_xla"))
    return model


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    from keras_nrnm import NRNM

    plain = NRNM.inner_loop
    compiled = compiled_loop(NRNM)

    def use(name):  # the patch is per class: set it before each call
        NRNM.inner_loop = compiled if name == "nrnm_loop_xla" else plain

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch * args.steps, args.length,
                         args.features)).astype("float32")
    y = rng.integers(0, 10, len(x))
    models, first = {}, {}
    for name in MODELS:
        use(name)
        models[name] = build(args, name)
        start = time.perf_counter()
        models[name].fit(x[:args.batch], y[:args.batch], batch_size=args.batch,
                         verbose=0)
        models[name].predict(x[:args.batch], batch_size=args.batch, verbose=0)
        first[name] = time.perf_counter() - start
    train = {name: [] for name in MODELS}
    infer = {name: [] for name in MODELS}
    for _ in range(args.repeats):
        for name, model in models.items():
            use(name)
            start = time.perf_counter()
            model.fit(x, y, batch_size=args.batch, verbose=0)
            train[name].append((time.perf_counter() - start) / args.steps)
            start = time.perf_counter()
            model.predict(x, batch_size=args.batch, verbose=0)
            infer[name].append((time.perf_counter() - start) / args.steps)
    use("nrnm")
    print(f"B {args.batch}, T {args.length}, D {args.features}, "
          f"{args.units} units, TensorFlow, best of {args.repeats}")
    print("| model | first fit + predict s | train ms | vs LSTM | "
          "infer ms | vs LSTM |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        t, i = min(train[name]), min(infer[name])
        print(f"| {name} | {first[name]:.1f} | {1e3 * t:.1f} | "
              f"{t / min(train['lstm']):.2f}x | {1e3 * i:.1f} | "
              f"{i / min(infer['lstm']):.2f}x |")


if __name__ == "__main__":
    main()
