"""The package's layering, read from the imports: nothing below the drills imports the drills, the CLI or
the Airflow adapters, and only the adapters and the drills' task modules import Airflow itself.

The layers are the ones in ``drdrill/__init__.py``'s docstring. Every import counts, including those
inside functions and under ``TYPE_CHECKING``: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

import drdrill

PACKAGE_DIR = Path(drdrill.__file__).resolve().parent

# Lowest first. A module may import its own layer or a lower one, never a higher one.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("drdrill", "drdrill.errors", "drdrill.findings", "drdrill.durations", "drdrill.sizes",
              "drdrill.endpoints", "drdrill.ports", "drdrill.toolenv", "drdrill.daemon", "drdrill.locations",
              "drdrill.history", "drdrill.drill_locks", "drdrill.drill_kinds", "drdrill.drill_record",
              "drdrill.progress")),
    ("servers", ("drdrill.servers",)),
    ("storage", ("drdrill.storage",)),
    ("engines", ("drdrill.engines",)),
    ("config", ("drdrill.config",)),
    ("checks", ("drdrill.checks",)),
    ("scorecard", ("drdrill.scorecard",)),
    ("report", ("drdrill.report",)),
    ("airflow adapters", ("drdrill.airflow",)),
    ("drills", ("drdrill.drills",)),
    ("dags", ("drdrill.dags",)),
    ("sandbox", ("drdrill.sandbox",)),
    ("cli", ("drdrill.cli",)),
)
# Inside the drills layer, kinds build on earlier kinds only (restore on backup, PITR on restore, ...).
DRILL_KINDS: tuple[tuple[str, ...], ...] = (
    ("drdrill.drills.layouts", "drdrill.drills.form"), ("drdrill.drills.backup",),
    ("drdrill.drills.archive",),
    ("drdrill.drills.restore",), ("drdrill.drills.pitr",), ("drdrill.drills.failover",),
)
# Who may import Airflow itself (the third-party package) and resolve Airflow connections.
AIRFLOW_IMPORTERS = re.compile(r"drdrill\.airflow(\..*)?|drdrill\.drills\.[a-z_]+\.tasks|drdrill\.dags(\..*)?")
ADAPTER_USERS = re.compile(r"drdrill\.airflow(\..*)?|drdrill\.drills\.[a-z_]+\.tasks|drdrill\.dags(\..*)?|drdrill\.cli(\..*)?"
                           r"|drdrill\.sandbox(\..*)?")
CONNECTION_RESOLVERS = re.compile(r"drdrill\.airflow(\..*)?|drdrill\.drills\.[a-z_]+\.tasks|drdrill\.cli(\..*)?"
                                  r"|drdrill\.sandbox(\..*)?")


def _matches(module: str, prefix: str) -> bool:
    """``prefix`` names ``module`` or a package above it; the bare ``drdrill`` names only the package itself."""
    return module == prefix or (prefix != "drdrill" and module.startswith(prefix + "."))


def layer_of(module: str) -> int:
    """The index of the most specific layer whose prefix names ``module``."""
    best, best_length = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if _matches(module, prefix) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    if best < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")
    return best


def _drill_kind(module: str) -> int | None:
    for index, prefixes in enumerate(DRILL_KINDS):
        if any(_matches(module, prefix) for prefix in prefixes):
            return index
    return None


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, known_modules: set[str]) -> set[str]:
    """Every module ``path`` imports: ``from a import b`` counts as ``a.b`` when that is a module, else as ``a``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known_modules else node.module)
    return found


def violations(package_dir: Path) -> set[str]:
    """``importer -> imported: why`` for every import that breaks the layering."""
    problems: set[str] = set()
    known_modules = {module_name(path, package_dir) for path in package_dir.rglob("*.py")}
    for path in sorted(package_dir.rglob("*.py")):
        importer = module_name(path, package_dir)
        for imported in imports_of(path, known_modules):
            if _matches(imported, "airflow") and not AIRFLOW_IMPORTERS.fullmatch(importer):
                problems.add(f"{importer} -> airflow: only drdrill.airflow and drills' tasks modules import Airflow")
            if imported not in known_modules:
                continue
            if _matches(imported, "drdrill.airflow.connections") and not CONNECTION_RESOLVERS.fullmatch(importer):
                problems.add(f"{importer} -> {imported}: connections are resolved at the edge and passed down")
            if _matches(imported, "drdrill.airflow") and not ADAPTER_USERS.fullmatch(importer):
                problems.add(f"{importer} -> {imported}: only a drill's tasks module uses the Airflow adapters")
            if layer_of(imported) > layer_of(importer):
                problems.add(f"{importer} -> {imported}: {LAYERS[layer_of(importer)][0]} may not import "
                             f"{LAYERS[layer_of(imported)][0]}")
            importer_kind, imported_kind = _drill_kind(importer), _drill_kind(imported)
            if importer_kind is not None and imported_kind is not None and imported_kind > importer_kind:
                problems.add(f"{importer} -> {imported}: a drill kind builds on earlier kinds only")
    return problems


@pytest.mark.unit
def test_no_upward_imports() -> None:
    found = sorted(violations(PACKAGE_DIR))
    assert not found, "imports that break the layering:\n" + "\n".join(found)


@pytest.mark.unit
def test_every_module_has_a_layer() -> None:
    for path in PACKAGE_DIR.rglob("*.py"):
        layer_of(module_name(path, PACKAGE_DIR))


@pytest.mark.unit
def test_a_deliberate_upward_import_is_caught(tmp_path: Path) -> None:
    package = tmp_path / "drdrill"
    for relative, source in {
        "__init__.py": "",
        "errors.py": "",
        "storage/__init__.py": "",
        "storage/catalog.py": "from drdrill.errors import DrdrillError\n",
        "drills/__init__.py": "",
        "drills/restore.py": "from drdrill.storage import catalog\n",
        "drills/backup.py": "def later():\n    from drdrill.drills.restore import x\n",
        "servers/__init__.py": "",
        "servers/scratch.py": "import airflow.sdk\nfrom drdrill.airflow.connections import resolve\n",
        "airflow/__init__.py": "",
        "airflow/connections.py": "from drdrill.storage.catalog import list_backups\n",
    }.items():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(textwrap.dedent(source))
    (package / "storage" / "verify.py").write_text("from drdrill.drills import restore\n")

    assert violations(package) == {
        "drdrill.storage.verify -> drdrill.drills.restore: storage may not import drills",
        "drdrill.drills.backup -> drdrill.drills.restore: a drill kind builds on earlier kinds only",
        "drdrill.servers.scratch -> airflow: only drdrill.airflow and drills' tasks modules import Airflow",
        "drdrill.servers.scratch -> drdrill.airflow.connections: connections are resolved at the edge and passed down",
        "drdrill.servers.scratch -> drdrill.airflow.connections: servers may not import airflow adapters",
        "drdrill.servers.scratch -> drdrill.airflow.connections: only a drill's tasks module uses the Airflow adapters",
    }
