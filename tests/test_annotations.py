"""The public API is annotated (the package ships `py.typed`): every
parameter and return of every public function, and of every public method
of a public class, has a type annotation that resolves at run time."""

import importlib
import inspect
import typing

import pytest

# Modules whose public names (`__all__`) must be fully annotated.
ANNOTATED_MODULES = ["keras_nrnm", "keras_nrnm.datasets"]

UNCHECKED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def public_names(module):
    """`module.__all__`, or its names without a leading underscore."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


def _methods(cls):
    """`(name, function)` of the public methods (and `__init__`) a class
    defines itself; properties give their getter."""
    for name, member in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        elif isinstance(member, property):
            member = member.fget
        if inspect.isfunction(member):
            yield name, member


def public_callables(module):
    """`(qualified name, function)` of every public function of `module`
    and every public method of its public classes."""
    for name in public_names(module):
        obj = getattr(module, name)
        if inspect.isclass(obj):
            for method_name, method in _methods(obj):
                yield f"{name}.{method_name}", method
        elif inspect.isfunction(obj):
            yield name, obj
            # Each `typing.overload` variant too (Python 3.11+ records them).
            if hasattr(typing, "get_overloads"):
                for i, variant in enumerate(typing.get_overloads(obj)):
                    yield f"{name}[overload {i}]", variant


def missing_annotations(function):
    """Names of `function`'s unannotated parameters (not `self`/`cls`,
    `*args`, `**kwargs`), plus `"return"` when the return is unannotated.

    `typing.get_type_hints` evaluates every annotation, so a name that
    does not resolve (a broken forward reference) raises here."""
    hints = typing.get_type_hints(function)
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]
    missing = [p.name for p in parameters
               if p.kind not in UNCHECKED_KINDS and p.name not in hints]
    if "return" not in hints:
        missing.append("return")
    return missing


def check_module_annotations(module):
    """Raise `AssertionError` listing each public callable of `module` with
    its unannotated parameters; return the names checked."""
    checked, problems = [], []
    for name, function in public_callables(module):
        try:
            missing = missing_annotations(function)
        except Exception as e:  # an annotation that does not evaluate
            problems.append(f"{name}: annotations do not resolve ({e!r})")
            continue
        checked.append(name)
        if missing:
            problems.append(f"{name}: no annotation for {missing}")
    assert not problems, f"{module.__name__}:\n  " + "\n  ".join(problems)
    return checked


@pytest.mark.parametrize("module_name", ANNOTATED_MODULES)
def test_public_api_is_annotated(module_name):
    checked = check_module_annotations(importlib.import_module(module_name))
    assert checked, f"{module_name} exports no callable"


def test_check_reports_missing_and_unresolvable_annotations():
    import types

    module = types.ModuleType("fake")

    def good(x: int, *args, y: str = "", **kwargs) -> None:
        pass

    def bad(x, y: int):
        pass

    def broken(x: "NoSuchName") -> None:  # noqa: F821
        pass

    class Thing:
        def __init__(self, x: int) -> None:
            pass

        def method(self, y):
            return y

        def _private(self, z):
            return z

    for f in (good, bad, broken, Thing):
        setattr(module, f.__name__, f)
    module.__all__ = ["good", "Thing"]
    with pytest.raises(AssertionError) as info:
        check_module_annotations(module)
    assert "Thing.method: no annotation for ['y', 'return']" in str(info.value)
    assert "good" not in str(info.value) and "__init__" not in str(info.value)
    module.__all__ = ["bad", "broken"]
    with pytest.raises(AssertionError) as info:
        check_module_annotations(module)
    assert "bad: no annotation for ['x', 'return']" in str(info.value)
    assert "broken: annotations do not resolve" in str(info.value)
