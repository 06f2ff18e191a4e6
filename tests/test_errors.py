"""Every error raised on purpose at a boundary of dynsys is a DynsysError (and a ValueError,
TypeError or FileNotFoundError where callers expect one)."""

import ast
from pathlib import Path

import pytest

import dynsys
from dynsys import errors

REPO = Path(dynsys.__file__).parent.parent
# raised inside a computation and caught there, or not an input error (AttributeError: a
# package's module __getattr__ must raise it for a name it does not have, PEP 562)
_INTERNAL = {
    "SingularMatrixError",
    "NotImplementedError",
    "ImportError",
    "SystemExit",
    "AttributeError",
}


def _raised_names(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            yield node.lineno, name


@pytest.mark.parametrize("package", ["dynsys", "phase"])
def test_no_builtin_exception_is_raised_at_a_boundary(package):
    ours = set(errors.__all__) | {"NotDifferentiableError"}
    for path in sorted((REPO / package).rglob("*.py")):
        for line, name in _raised_names(path):
            if name in _INTERNAL or name in ours or not name.endswith("Error"):
                continue
            if name == "AssertionError":  # a bug in a schema, never bad input
                continue
            pytest.fail(f"{path.relative_to(REPO)}:{line} raises {name}; raise a DynsysError")


def test_every_error_class_is_a_dynsys_error_of_the_expected_builtin_kind():
    assert issubclass(errors.InputError, ValueError)
    assert issubclass(errors.InputTypeError, TypeError)
    assert issubclass(errors.OptionError, errors.InputError)
    assert issubclass(errors.MissingFileError, FileNotFoundError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DynsysError), name
