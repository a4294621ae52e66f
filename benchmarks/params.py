"""Parameter counts of NRNM, by weight group and by arrangement.

Every parameter count in `docs/design.md` comes from this script:

    python benchmarks/params.py                  # the paper's NTU setting
    python benchmarks/params.py --units 256      # another width

Setting (the paper's NTU model, Sec. 4.1): 150 input features (25 joints x
3 coordinates x 2 bodies), 60 classes, 512 units, block size 8, stride 4
(2 memory slots), 4 heads. It prints

1. one NRNM layer by weight group (which equation each weight serves), on
   the raw inputs and on a 512-wide layer below it, with both layouts of
   the Eq. 9 gates;
2. whole models (recurrent layers + a softmax classifier) in the paper's
   arrangements, against the LSTMs they replace.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_nrnm import NRNM  # noqa: E402

# (group, what it computes, substrings of the weight paths), first match wins.
GROUPS = (
    ("LSTM backbone", "Eq. 11, 13: W, U, b",
     ("nrnm_cell/kernel", "nrnm_cell/recurrent_kernel", "nrnm_cell/bias")),
    ("input units", "Eq. 5: x_t -> d (W_x, b_x)", ("input_projection",)),
    ("memory gate W_m", "Eq. 12: D -> n d", ("memory_gate_kernel",)),
    ("memory gate U_m", "Eq. 12: n d -> n d",
     ("memory_gate_recurrent_kernel",)),
    ("memory gate b_m", "Eq. 12", ("memory_gate_bias",)),
    ("memory projection P", "Eq. 10: n d -> d", ("memory_projection",)),
    ("attention W_q, W_k, W_v", "Eq. 5", ("query/", "key/", "value/")),
    ("attention output W_o", "not in Eq. 5 (choice 12; "
     "`attention_output_projection=False` drops it)",
     ("attention_output/",)),
    ("layer norms", "Eq. 6", ("_norm/",)),
    ("FC", "Eq. 6", ("/fc/",)),
    ("gate channel maps", "Eq. 9: B (tied) or B_x, B_m (separate)",
     ("gate_kernel", "gate_input_kernel", "gate_memory_kernel")),
    ("gate unit mixing", "Eq. 9: A", ("gate_mixing",)),
    ("gate biases", "Eq. 9", ("gate_bias",)),
)


def weight_groups(layer):
    """`{group: count}` for a built NRNM layer; every weight in one group."""
    counts = {name: 0 for name, _, _ in GROUPS}
    for variable in layer.weights:
        group = next((name for name, _, keys in GROUPS
                      if any(key in variable.path for key in keys)), None)
        if group is None:
            raise ValueError(f"Weight {variable.path} is in no group.")
        counts[group] += int(np.prod(variable.shape))
    return counts


def nrnm_layer(args, inputs, **kwargs):
    layer = NRNM(args.units, block_size=args.block_size, stride=args.stride,
                 num_heads=args.num_heads, **kwargs)
    layer.build((None, None, inputs))
    return layer


def arrangement(args, kinds):
    """A model of stacked recurrent layers (`"lstm"` or `"nrnm"`) and a
    softmax classifier; returns its parameter count."""
    x = inputs = keras.Input((None, args.features))
    for i, kind in enumerate(kinds):
        last = i == len(kinds) - 1
        if kind == "lstm":
            x = keras.layers.LSTM(args.units, return_sequences=not last)(x)
        else:
            x = NRNM(args.units, block_size=args.block_size, stride=args.stride,
                     num_heads=args.num_heads, return_sequences=not last)(x)
    outputs = keras.layers.Dense(args.classes, activation="softmax")(x)
    return keras.Model(inputs, outputs).count_params()


ARRANGEMENTS = (
    ("LSTM, LSTM", ("lstm", "lstm")),
    ("LSTM, LSTM, LSTM (the paper's baseline)", ("lstm", "lstm", "lstm")),
    ("LSTM, NRNM", ("lstm", "nrnm")),
    ("NRNM, NRNM", ("nrnm", "nrnm")),
    ("LSTM, NRNM, LSTM (the paper's best, Fig. 6)", ("lstm", "nrnm", "lstm")),
)


def report(args):
    """The tables as markdown lines."""
    lines = [f"Setting: {args.features} input features, {args.classes} "
             f"classes, {args.units} units, block size {args.block_size}, "
             f"stride {args.stride}, {args.num_heads} heads.", "",
             "**One NRNM layer, by weight group:**", "",
             f"| group | what | on {args.features} inputs "
             f"| on {args.units} inputs "
             f"| on {args.units} inputs, separate gates |",
             "|---|---|---|---|---|"]
    layers = [nrnm_layer(args, args.features),
              nrnm_layer(args, args.units),
              nrnm_layer(args, args.units, memory_gates="separate")]
    tables = [weight_groups(layer) for layer in layers]
    for name, what, _ in GROUPS:
        lines.append(f"| {name} | {what} | "
                     + " | ".join(f"{t[name]:,}" for t in tables) + " |")
    totals = [layer.count_params() for layer in layers]
    assert totals == [sum(t.values()) for t in tables]
    lines.append("| **total** | | " + " | ".join(f"**{t:,}**" for t in totals)
                 + " |")
    lines += ["", "**Models** (recurrent layers + softmax classifier):", "",
              "| arrangement | parameters |", "|---|---|"]
    for name, kinds in ARRANGEMENTS:
        lines.append(f"| {name} | {arrangement(args, kinds):,} |")
    return lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=int, default=150,
                        help="input features (default: 150, NTU)")
    parser.add_argument("--classes", type=int, default=60,
                        help="classes (default: 60, NTU)")
    parser.add_argument("--units", type=int, default=512,
                        help="units of every layer (default: 512)")
    parser.add_argument("--block-size", type=int, default=8,
                        help="block size k (default: 8)")
    parser.add_argument("--stride", type=int, default=4,
                        help="stride s (default: 4, 2 slots)")
    parser.add_argument("--num-heads", type=int, default=4,
                        help="attention heads (default: 4)")
    return parser.parse_args(argv)


def main(argv=None):
    print("\n".join(report(parse_args(argv))))


if __name__ == "__main__":
    main()
