"""The package's shape: every function short enough to read at once, and
the fast path's dependency on the cell visible in the import graph.

    python tests/test_code_shape.py     # body lengths, longest first
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "keras_nrnm"
MAX_BODY_LINES = 80


def body_lines(function):
    """Lines of a function's body, signature and docstring aside: from its
    first statement after the docstring to its last line."""
    body = function.body
    if (len(body) > 1 and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        body = body[1:]
    return function.end_lineno - body[0].lineno + 1


def function_lengths(package=PACKAGE):
    """`[(body lines, "module.py:qualified.name"), ...]` of every function
    and method in `package` (nested ones included), longest first."""
    lengths = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            name = getattr(child, "name", None)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lengths.append((body_lines(child), f"{prefix}{name}"))
            visit(child, prefix if name is None else f"{prefix}{name}.")

    for path in sorted(package.rglob("*.py")):
        visit(ast.parse(path.read_text(), filename=str(path)),
              f"{path.relative_to(package)}:")
    return sorted(lengths, reverse=True)


def imported_modules(path):
    """The modules a file imports from (`import a.b`, `from a.b import c`)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}"
                           for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_body_lengths_are_measured_without_signature_and_docstring():
    function = ast.parse(
        'def f(a,\n      b):\n    """Doc.\n\n    More."""\n    x = a\n'
        '    return x + b\n').body[0]
    assert body_lines(function) == 2


def test_no_function_body_is_longer_than_the_limit():
    long = [(lines, name) for lines, name in function_lengths()
            if lines > MAX_BODY_LINES]
    assert long == [], (
        f"functions with a body over {MAX_BODY_LINES} lines: {long}")


def test_fast_path_imports_what_it_uses_from_the_cell_state_and_schedule():
    modules = imported_modules(PACKAGE / "fast_path.py")
    for module in ("keras_nrnm.cell", "keras_nrnm.state",
                   "keras_nrnm.schedule"):
        assert module in modules, f"fast_path does not import {module}"


if __name__ == "__main__":
    for lines, name in function_lengths()[:20]:
        print(f"{lines:4d}  {name}")
