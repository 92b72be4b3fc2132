"""The type stub matches the native module, and every docstring example runs as written."""

import ast
import doctest
import inspect
import pathlib

import coffer
from coffer import _coffer

STUB = pathlib.Path(coffer.__file__).with_name("_coffer.pyi")
TYPES = {"RecipientInfo", "EnvelopeInfo"}  # coffer._types: pure-Python TypedDicts


def stub_tree():
    assert STUB.exists(), f"{STUB} is missing from the installed package"
    return ast.parse(STUB.read_text())


def stub_objects():
    """(dotted name, stub docstring) for every class, method, property and function in the stub."""
    out = []
    for node in stub_tree().body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            out.append((node.name, ast.get_docstring(node, clean=True)))
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if isinstance(member, ast.FunctionDef) and not member.name.startswith("__"):
                        out.append((f"{node.name}.{member.name}", ast.get_docstring(member, clean=True)))
    return out


def runtime(dotted):
    obj = _coffer
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_every_public_name_of_the_native_module_is_in_the_stub_and_the_package():
    stubbed = {name for name, _ in stub_objects() if "." not in name}
    public = {n for n in dir(_coffer) if not n.startswith("_")}
    assert public == stubbed
    assert set(_coffer.__all__) == public | {"__version__"}
    assert set(coffer.__all__) | {"open"} == public | TYPES
    assert coffer.open is _coffer.open


def test_every_stub_docstring_is_the_runtime_docstring():
    for name, doc in stub_objects():
        obj = runtime(name)
        assert doc, f"{name} has no docstring in the stub"
        assert inspect.cleandoc(obj.__doc__ or "") == doc, name


def test_every_docstring_example_runs_as_written():
    finder, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    examples = 0
    modules = {"coffer": coffer, "coffer._types": coffer._types}
    for name, _ in stub_objects() + [(m, None) for m in modules]:
        obj = modules[name] if name in modules else runtime(name)
        test = finder.get_doctest(inspect.cleandoc(obj.__doc__ or ""), {}, name, str(STUB), 0)
        assert test.examples, f"{name}: no example in its docstring"
        examples += len(test.examples)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {examples} docstring examples failed (output above)"
