"""Every library module has a unit test module of its own, where the source tree says it is.

``src/drdrill/<path>/<module>.py`` is tested by ``tests/unit/<path>/test_<module>.py``; a package's
``__init__.py`` that holds code by ``tests/unit/<path>/test_<package>.py``. An ``__init__.py`` with only a
docstring, imports and constants needs none.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import drdrill

PACKAGE_DIR = Path(drdrill.__file__).resolve().parent
UNIT_TESTS = Path(__file__).resolve().parent


def _holds_code(path: Path) -> bool:
    """Anything beyond a docstring, imports, ``__all__`` and constant assignments."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.List, ast.Tuple)):
            continue
        return True
    return False


def expected_test_module(module: Path, package_dir: Path, unit_tests: Path) -> Path | None:
    """Where ``module``'s unit tests live; None for an ``__init__.py`` without code."""
    relative = module.relative_to(package_dir)
    if module.name == "__init__.py":
        if not _holds_code(module):
            return None
        name = relative.parent.name or package_dir.name
        return unit_tests / relative.parent / f"test_{name}.py"
    return unit_tests / relative.parent / f"test_{module.stem}.py"


def untested(package_dir: Path, unit_tests: Path) -> set[str]:
    """The modules (relative paths) whose unit test module does not exist."""
    return {str(path.relative_to(package_dir)) for path in package_dir.rglob("*.py")
            if (test := expected_test_module(path, package_dir, unit_tests)) is not None and not test.is_file()}


@pytest.mark.unit
def test_every_module_has_its_unit_test_module() -> None:
    missing = sorted(untested(PACKAGE_DIR, UNIT_TESTS))
    assert not missing, "modules without tests/unit/<path>/test_<module>.py:\n" + "\n".join(missing)


@pytest.mark.unit
def test_a_module_without_its_test_module_is_named(tmp_path: Path) -> None:
    package, tests = tmp_path / "drdrill", tmp_path / "unit"
    (package / "storage").mkdir(parents=True)
    (package / "__init__.py").write_text('"""docs only."""\n__version__ = "1"\n')
    (package / "storage" / "__init__.py").write_text("def helper():\n    return 1\n")
    (package / "storage" / "catalog.py").write_text("")
    (package / "storage" / "layout.py").write_text("")
    (tests / "storage").mkdir(parents=True)
    (tests / "storage" / "test_layout.py").write_text("")
    assert untested(package, tests) == {"storage/__init__.py", "storage/catalog.py"}
