"""The restore suite's definition: which checks run, read from YAML shipped as package data and checked.

``drdrill/checks/expectations/restore_drill.yaml`` names the suite, the per-table checks, the inventory
kinds, the kinds whose definitions are compared and whether the RPO check runs; what each check expects
comes from the backup's manifest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from drdrill.checks.schema_fingerprint import FINGERPRINT_KINDS
from drdrill.errors import ConfigError

TABLE_CHECKS = ("row_count", "checksum", "primary_key_unique", "primary_key_not_null")
INVENTORY_KINDS = ("tables", "views", "routines", "triggers", "events")
DEFINITION_KEYS = ("suite", "table_checks", "inventory", "definitions", "rpo")


def default_definition_path() -> Path:
    """The suite definition shipped with the package (``drdrill/checks/expectations/restore_drill.yaml``)."""
    return Path(str(resources.files("drdrill.checks") / "expectations" / "restore_drill.yaml"))


def load_suite_definition(path: Path | None = None) -> dict[str, Any]:
    """Read and check the suite definition YAML; ConfigError names the file, the key and the fix."""
    path = Path(path) if path is not None else default_definition_path()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(
            str(path),
            "(file)",
            f"cannot be read ({exc.strerror or exc}).",
            "Reinstall drdrill (the file ships with the package) or pass a readable definition file.",
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(
            str(path), "(file)", f"is not valid YAML ({exc}).", "Fix the syntax at the line shown."
        ) from exc
    return check_suite_definition(data, where=str(path))


def check_suite_definition(data: Any, where: str = "suite definition") -> dict[str, Any]:
    """The definition with every key present and every name known; ConfigError otherwise."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            where,
            "(top level)",
            f"must be a mapping, not {type(data).__name__}.",
            f"Write the keys {', '.join(DEFINITION_KEYS)}.",
        )
    unknown = sorted(set(data) - set(DEFINITION_KEYS))
    if unknown:
        raise ConfigError(
            where,
            unknown[0],
            "is not a key of the suite definition.",
            f"Use only {', '.join(DEFINITION_KEYS)}.",
        )
    missing = [key for key in DEFINITION_KEYS if key not in data]
    if missing:
        raise ConfigError(
            where,
            missing[0],
            "is missing.",
            "Add it; to switch checks off, list fewer names (an empty list is allowed).",
        )
    suite = data["suite"]
    if not isinstance(suite, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", suite):
        raise ConfigError(
            where, "suite", f"{suite!r} is not a simple name.", "Use letters, digits, '_' or '-'."
        )
    if not isinstance(data["rpo"], bool):
        raise ConfigError(
            where, "rpo", f"{data['rpo']!r} is not true or false.", "Write rpo: true or rpo: false."
        )
    return {
        "suite": suite,
        "table_checks": _names(data["table_checks"], TABLE_CHECKS, where, "table_checks"),
        "inventory": _names(data["inventory"], INVENTORY_KINDS, where, "inventory"),
        "definitions": _names(data["definitions"], FINGERPRINT_KINDS, where, "definitions"),
        "rpo": data["rpo"],
    }


def _names(value: Any, known: Sequence[str], where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            where, key, f"must be a list of names, not {value!r}.", f"List some of {', '.join(known)}."
        )
    for item in value:
        if item not in known:
            raise ConfigError(
                where, f"{key}: {item}", "is not a known name.", f"Use some of {', '.join(known)}."
            )
    return list(dict.fromkeys(value))
