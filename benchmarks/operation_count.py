"""Operations that one iteration of a recurrent layer's loop executes.

`benchmarks/speed.py --operations` prints, per backend, how many operations
one loop iteration of `keras_nrnm.NRNM` runs (one *window* of the fast path)
against one step of `keras.layers.LSTM`. Unlike times, these counts are the
same on every machine, and on a GPU, where every operation in the loop is a
kernel launch, they bound the time per step from below.

What is counted, per backend (the layer is only traced on TensorFlow and
JAX, and run on PyTorch):

- **TensorFlow**: the layer's call is traced with `tf.function`; every
  `While`/`StatelessWhile` node of the traced graph (found also inside called
  functions) is a loop, and its `body` function's nodes are counted, by op
  type, as traced (before Grappler's rewrites). Bookkeeping nodes, which move
  or alias a tensor without computing anything, are left out:
  `TF_BOOKKEEPING` (Identity, IdentityN, NoOp, Const, StopGradient,
  placeholders and function arguments, and TF1's Enter, Exit, Merge, Switch,
  NextIteration, LoopCond). `ReadVariableOp` and the `TensorList*` reads,
  writes, pushes and pops of the loop's inputs, outputs and gradient
  accumulators are counted: they run at every iteration. A node that calls
  functions is replaced by what it calls: a nested `While` by its `cond` and
  `body` (once: their trip count is unknown), an `If`/`Case` by its largest
  branch, a `PartitionedCall` by its callee.
- **JAX**: `jax.make_jaxpr` of `layer.stateless_call`; every `scan` or
  `while` equation (found also inside `jit`, `checkpoint` and custom-rule
  wrappers) is a loop, and the equations of its body are counted, by
  primitive, *recursively*: the wrappers `JAX_INLINED` (`jit`/`pjit`,
  `closed_call`, `checkpoint`/`remat`, `custom_jvp_call`, `custom_vjp_call`)
  count as the equations inside them, not as one equation (NRNM's window
  body is one `checkpoint` equation), a nested loop as its body (and
  condition) once, a `cond` as its largest branch. Equations whose
  sub-jaxpr is a combiner (`scatter-add`'s update, `reduce`'s computation)
  count as one. Nothing else is left out. XLA fuses these equations
  into fewer kernels; the count is what XLA is given.
- **PyTorch**: the ATen operations dispatched (`TorchDispatchMode`, below
  autograd, so composite operations count as what they decompose into, views
  included) while the layer runs on sequences of two lengths; the difference
  divided by the difference in iterations is what one more iteration costs
  (the operations before and after the loop cancel). Left out:
  `TORCH_BOOKKEEPING` (`detach`, `lift_fresh`, `alias`: autograd's and the
  tracer's aliases). Keras's loop on PyTorch is Python, so the count includes
  the loop's own operations (Keras's `backend.rnn` reads two scalars back
  from the device per step: `_local_scalar_dense`).

With `training=True` the count is that of a training step's forward and
backward pass: the layer called with `training=True`, and the gradient of the
sum of its outputs with respect to its trainable weights (no optimizer), all
loops summed (on TensorFlow and JAX the forward loop, which then also saves
what the gradient needs, and the gradient's own loop).

`keras.layers.LSTM` is counted with `use_cudnn=False`: its per-step loop
(`keras.src.backend.<backend>.rnn.rnn`), which is what it runs on a CPU. On a
GPU, TensorFlow and PyTorch run it as one fused cuDNN kernel for the whole
sequence instead.
"""

import collections

import keras

TF_BOOKKEEPING = frozenset({
    "Identity", "IdentityN", "NoOp", "Const", "StopGradient",
    "Placeholder", "PlaceholderWithDefault", "_Arg", "_Retval",
    "Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond",
})
TF_LOOPS = frozenset({"While", "StatelessWhile"})
TF_BRANCHES = frozenset({"If", "StatelessIf", "Case", "StatelessCase"})
TF_CALLS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})

JAX_LOOPS = frozenset({"scan", "while"})
JAX_INLINED = frozenset({
    "pjit", "jit", "closed_call", "core_call", "remat", "remat2",
    "checkpoint", "custom_jvp_call", "custom_vjp_call",
    "custom_vjp_call_jaxpr",
})

TORCH_BOOKKEEPING = frozenset({"detach", "lift_fresh", "alias"})


def total(counts):
    """The number of operations in a `Counter` of operation types."""
    return sum(counts.values())


# TensorFlow -----------------------------------------------------------------

def _function_names(node):
    """`{attribute: [function name, ...]}` of a NodeDef's function attributes."""
    names = {}
    for key, value in node.attr.items():
        if value.HasField("func"):
            names[key] = [value.func.name]
        elif value.HasField("list") and len(value.list.func):
            names[key] = [f.name for f in value.list.func]
    return names


def _tf_nodes_counts(nodes, library):
    counts = collections.Counter()
    for node in nodes:
        if node.op in TF_BOOKKEEPING:
            continue
        functions = _function_names(node)
        if node.op in TF_LOOPS:
            for key in ("cond", "body"):
                counts += _tf_function_counts(functions[key][0], library)
        elif node.op in TF_BRANCHES:
            branches = [_tf_function_counts(name, library)
                        for names in functions.values() for name in names]
            counts += max(branches, key=total)
        elif node.op in TF_CALLS:
            counts += _tf_function_counts(functions["f"][0], library)
        else:
            counts[node.op] += 1
    return counts


def _tf_function_counts(name, library):
    return _tf_nodes_counts(library[name].node_def, library)


def _tf_loops(nodes, library, seen=None):
    """Each `While` node of `nodes`, or of a function they call (other than
    a loop's), as `(name, body function)`."""
    seen = set() if seen is None else seen
    loops = []
    for node in nodes:
        functions = _function_names(node)
        if node.op in TF_LOOPS:
            loops.append((node.name, functions["body"][0]))
            continue
        for names in functions.values():
            for name in names:
                if name in library and name not in seen:
                    seen.add(name)
                    loops += _tf_loops(library[name].node_def, library, seen)
    return loops


def tf_loop_counts(graph):
    """`[Counter of op types]`, one per loop (While node) of a TensorFlow
    graph (`tf.function(...).get_concrete_function().graph`): its body's
    nodes less `TF_BOOKKEEPING`, nested functions replaced by what they
    run."""
    graph_def = graph.as_graph_def()
    library = {f.signature.name: f for f in graph_def.library.function}
    return [_tf_function_counts(body, library)
            for _, body in _tf_loops(graph_def.node, library)]


# JAX ------------------------------------------------------------------------

def _sub_jaxprs(eqn):
    """The jaxprs among an equation's parameters (open or closed)."""
    found = []
    for value in eqn.params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if hasattr(item, "eqns"):
                found.append(item)
            elif hasattr(getattr(item, "jaxpr", None), "eqns"):
                found.append(item.jaxpr)
    return found


def jaxpr_counts(jaxpr):
    """`Counter` of the primitives that `jaxpr` runs, wrappers inlined, a
    nested loop counted as its body and condition once, a `cond` as its
    largest branch."""
    counts = collections.Counter()
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        subs = _sub_jaxprs(eqn)
        if name in JAX_INLINED or name in JAX_LOOPS:
            for sub in subs:
                counts += jaxpr_counts(sub)
        elif name == "cond":
            counts += max((jaxpr_counts(sub) for sub in subs), key=total)
        else:
            counts[name] += 1
    return counts


def jax_loop_counts(jaxpr):
    """`[Counter of primitives]`, one per `scan`/`while` equation of `jaxpr`
    (a `jax.make_jaxpr` result or its `.jaxpr`), found through wrappers."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    loops = []
    for eqn in jaxpr.eqns:
        subs = _sub_jaxprs(eqn)
        if eqn.primitive.name in JAX_LOOPS:
            counts = collections.Counter()
            for sub in subs:
                counts += jaxpr_counts(sub)
            loops.append(counts)
        else:
            for sub in subs:
                loops += jax_loop_counts(sub)
    return loops


# PyTorch --------------------------------------------------------------------

def torch_counts(function):
    """`Counter` of the ATen operations that `function()` dispatches, less
    `TORCH_BOOKKEEPING`."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counting(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.counts = collections.Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func.overloadpacket.__name__
            if name not in TORCH_BOOKKEEPING:
                self.counts[name] += 1
            return func(*args, **(kwargs or {}))

    with Counting() as counting:
        function()
    return counting.counts


# A layer's loop, on the current Keras backend -------------------------------

def loop_operations(layer, input_shape, training=False,
                    steps_per_iteration=1):
    """`Counter` of the operations that one iteration of `layer`'s loop runs
    on the current Keras backend (all loops summed: with `training=True` the
    forward and the gradient's), as the module's docstring defines them.

    `input_shape`: `(batch, steps, features)` traced on TensorFlow and JAX;
    PyTorch runs `(batch, 2 n, features)` and `(batch, 4 n, features)`
    with `n = steps_per_iteration` (the steps one loop iteration takes: 1
    for an LSTM, the window for NRNM). The counts per op type are per
    iteration (on PyTorch they may be fractions where the two runs differ
    by more than whole iterations)."""
    backend = keras.backend.backend()
    batch, _, features = input_shape
    if not layer.built:
        layer.build((batch, None, features))
    if backend == "tensorflow":
        loops = _tensorflow_loops(layer, input_shape, training)
    elif backend == "jax":
        loops = _jax_loops(layer, input_shape, training)
    elif backend == "torch":
        return _torch_per_iteration(layer, batch, features, training,
                                    steps_per_iteration)
    else:
        raise ValueError(f"no operation count for backend {backend!r}")
    if not loops:
        raise ValueError(f"{layer.name}: no loop in its traced call")
    return sum(loops, collections.Counter())


def _tensorflow_loops(layer, input_shape, training):
    import tensorflow as tf

    spec = tf.TensorSpec(input_shape, layer.compute_dtype)
    if not training:
        function = tf.function(lambda x: layer(x, training=False))
    else:
        def function(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(layer(x, training=True))
            return tape.gradient(loss, layer.trainable_variables)
        function = tf.function(function)
    return tf_loop_counts(function.get_concrete_function(spec).graph)


def _jax_loops(layer, input_shape, training):
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]
    x = jnp.zeros(input_shape, layer.compute_dtype)

    def forward(trainable, x):
        outputs, _ = layer.stateless_call(trainable, non_trainable, x,
                                          training=training)
        return outputs

    if not training:
        return jax_loop_counts(jax.make_jaxpr(forward)(trainable, x))
    gradient = jax.grad(lambda w, x: jnp.sum(forward(w, x)))
    return jax_loop_counts(jax.make_jaxpr(gradient)(trainable, x))


def _torch_per_iteration(layer, batch, features, training, n):
    import torch

    def run(steps):
        x = torch.zeros((batch, steps, features), dtype=getattr(
            torch, layer.compute_dtype))
        layer(x, training=training)  # warm-up: lazy set-up left out
        if not training:
            def call():
                with torch.no_grad():
                    layer(x, training=False)
        else:
            def call():
                torch.sum(layer(x, training=True)).backward()
        counts = torch_counts(call)
        for variable in layer.trainable_variables:
            variable.value.grad = None
        return counts

    short, long = run(2 * n), run(4 * n)
    return collections.Counter({
        name: (long[name] - short[name]) / 2
        for name in set(long) | set(short) if long[name] != short[name]})
