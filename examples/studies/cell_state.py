"""How large NRNM's cell state `c_t` grows, at initialisation and after
training: does the memory term of Eq. 10 push `tanh(c_t)` into saturation?

    PYTHONPATH=examples python -m studies.cell_state --dataset OSULeaf
    PYTHONPATH=examples python -m studies.cell_state --dataset OSULeaf \\
        --trained runs/study/ucr_OSULeaf-nrnm_v01-0/model.keras

For the training series of a UCR/UEA set (z-normalised as in
`examples/time_series_classification.py`) it runs `RNN(NRNMCell)` with an
extra output, `c_t` at every step, and prints per layer setting: the mean
|c_t| over the second half of the steps, the share of entries with
|c_t| > 2 (where tanh' < 0.071, so little gradient flows through h_t), and the
same for the LSTM that has the backbone's weights. Settings: a fresh layer
with version 0.1's initialisation (random memory projection), a fresh layer
with this release's (zero projection: exactly the LSTM), and any trained
`model.keras` of the examples (its layer `nrnm`). The figures are in
docs/results.md, "Why the initialisation: the cell state before training".
"""

import argparse

import numpy as np

import _common  # the examples' shared plumbing (quiets the backend's start-up)
import time_series_classification as example

# Keras and keras_nrnm are imported once the command line is parsed.


def cell_state_probe(**config):
    """An `NRNMCell` with this config whose output is `[h_t, c_t]`."""
    from keras import ops

    from keras_nrnm import NRNMCell

    class CellStateProbe(NRNMCell):
        def __init__(self, units, **kwargs):
            super().__init__(units, **kwargs)
            self.output_size = 2 * units

        def call(self, inputs, states, training=False):
            h, new_states = super().call(inputs, states, training=training)
            c = self.public_states(new_states)[1]
            return ops.concatenate([h, c], axis=-1), new_states

    return CellStateProbe(**config)


def cell_states(cell_config, weights, x):
    """`c_t` of every step, `(batch, steps, units)`, for a cell with the given
    config and weights (`None`: as initialised)."""
    import keras

    config = {k: v for k, v in cell_config.items()
              if k not in ("name", "dtype", "trainable")}
    probe = cell_state_probe(**config)
    rnn = keras.layers.RNN(probe, return_sequences=True)
    rnn.build(x.shape)
    if weights is not None:
        probe.set_weights(weights)
    units = probe.units
    return keras.ops.convert_to_numpy(rnn(x))[..., units:], probe


def summary(c):
    late = np.abs(c[:, c.shape[1] // 2:])
    return late.mean(), (late > 2.0).mean(), np.abs(c).max()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m studies.cell_state",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="OSULeaf",
                        choices=sorted(example.EPOCHS),
                        help="UCR/UEA set (default: OSULeaf)")
    parser.add_argument("--units", type=int, default=64,
                        help="units of the fresh layers (default: 64)")
    parser.add_argument("--series", type=int, default=64,
                        help="training series used (default: 64)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the fresh layers' weights (default: 0)")
    parser.add_argument("--trained", nargs="*", default=[],
                        help="model.keras files of trained examples")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    keras = _common.load_keras()
    from keras_nrnm import NRNMCell, datasets

    (x, _), _, _, (lengths, _) = datasets.load_ucr(args.dataset,
                                                  return_lengths=True)
    x = example.normalise(x, lengths)[:args.series]
    settings = []
    for label, init in (("fresh, 0.1 initialisation (random projection)",
                         dict(memory_gates="tied",
                              memory_projection_initializer="glorot_uniform")),
                        ("fresh, 0.2 initialisation (zero projection)", {})):
        keras.utils.set_random_seed(args.seed)
        config = NRNMCell(args.units, **init).get_config()
        settings.append((label, config, None))
    for path in args.trained:
        layer = keras.saving.load_model(path).get_layer("nrnm")
        settings.append((f"trained: {path}", layer.cell.get_config(),
                         layer.cell.get_weights()))
    print(f"{args.dataset}: {len(x)} training series of {x.shape[1]} steps, "
          f"{args.units} units; |c_t| over the second half of the steps\n")
    print("| layer | NRNM mean abs(c) | NRNM share abs(c) > 2 | max abs(c) "
          "| its LSTM: mean abs(c) | share > 2 |")
    print("|---|---|---|---|---|---|")
    for label, config, weights in settings:
        c, probe = cell_states(config, weights, x)
        # The same backbone without the memory: the projection set to zero.
        lstm_weights = [np.zeros_like(w) if v.path.endswith("memory_projection")
                        else w for v, w in zip(probe.weights, probe.get_weights())]
        c_lstm, _ = cell_states(config, lstm_weights, x)
        mean, share, top = summary(c)
        lstm_mean, lstm_share, _ = summary(c_lstm)
        print(f"| {label} | {mean:.2f} | {100 * share:.1f} % | {top:.1f} "
              f"| {lstm_mean:.2f} | {100 * lstm_share:.1f} % |")


if __name__ == "__main__":
    main()
