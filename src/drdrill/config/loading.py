"""Reading the drills YAML: the file (from where, and why there), its syntax, inheritance from defaults, validation.

DAG files call :func:`load_config` at parse time, so this does no network I/O and imports nothing heavy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from drdrill.config.messages import config_error_from, target_errors_from
from drdrill.config.models import BrokenTarget, DrillConfig, DrillsFile
from drdrill.errors import ConfigError
from drdrill.locations import CONFIG_ENV_VAR, default_config_path

_DRILLS_FILE: TypeAdapter[DrillsFile] = TypeAdapter(DrillsFile)


def load_config(path: Path | str | None = None) -> DrillConfig:
    """Read and validate the drills YAML (default: :func:`default_config_path`); ConfigError on a problem."""
    config_path = Path(path).expanduser() if path is not None else default_config_path()
    raw = read_yaml(config_path, explicit=path is not None)
    if raw is None:
        raise ConfigError(str(config_path), "(file)", "the file is empty.",
                          "Add a targets: list (include/drills.yaml in the drdrill project is a documented example).")
    data = with_inherited_values(raw)
    broken: tuple[BrokenTarget, ...] = ()
    try:
        drills = _DRILLS_FILE.validate_python(data)
    except ValidationError as exc:
        drills, broken = _without_broken_targets(exc, data, str(config_path), raw)
    return DrillConfig(path=config_path, settings=drills.settings, targets=drills.targets, broken=broken,
                       defaults=drills.defaults)


def _without_broken_targets(
    error: ValidationError, data: dict[str, Any], file: str, raw: Any
) -> tuple[DrillsFile, tuple[BrokenTarget, ...]]:
    """One bad target stays one: the file validated without the targets at fault, and those targets.

    ConfigError (the first problem) when the fault is not inside targets alone, or every target has one.
    """
    at_fault = target_errors_from(error, file, raw)
    if at_fault is None or len(at_fault) == len(data["targets"]):
        raise config_error_from(error, file, raw) from None
    kept = [target for index, target in enumerate(data["targets"]) if index not in at_fault]
    try:
        drills = _DRILLS_FILE.validate_python({**data, "targets": kept})
    except ValidationError as again:  # e.g. two of the good targets share a name
        raise config_error_from(again, file, raw) from None
    broken = tuple(BrokenTarget.of(index, raw["targets"][index], problem) for index, problem in sorted(at_fault.items()))
    return drills, broken


def with_inherited_values(raw: Any) -> Any:
    """The file's data as validated: each target laid over ``defaults`` (its owner defaulting to settings'
    default_owner), without null entries: a null value means the key's default, as if it were left out."""
    if not isinstance(raw, dict):
        return raw
    data = _laid_over({}, raw)
    defaults, settings = _mapping(raw.get("defaults")), _mapping(raw.get("settings"))
    owner = {"owner": settings["default_owner"]} if settings.get("default_owner") is not None else {}
    if isinstance(raw.get("targets"), list):
        data["targets"] = [{**owner, **_laid_over(defaults, target)} if isinstance(target, dict) else target
                           for target in raw["targets"]]
    return data


def _laid_over(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, anything else replaces; null entries are dropped."""
    merged = {**base, **override}
    return {key: _laid_over(_mapping(base.get(key)), value) if isinstance(value, dict) else value
            for key, value in merged.items() if value is not None}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = key in first_line
                except TypeError:  # unhashable key; let PyYAML report it
                    continue
                if seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} appears twice in one mapping (first on line {first_line[key]})",
                        key_node.start_mark)
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, *, explicit: bool) -> Any:
    """Parsed YAML of ``path``; ConfigError for a missing/unreadable file (saying where the path came from) or a
    syntax error (with the line)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            why = "(this path was passed in explicitly)"
        elif os.environ.get(CONFIG_ENV_VAR, "").strip():
            why = f"(taken from the environment variable {CONFIG_ENV_VAR})"
        else:
            why = f"(the default location, used because {CONFIG_ENV_VAR} is not set)"
        raise ConfigError(file, "(file)", f"drills config not found at {path.resolve()} {why}.",
                          "Create it (start from include/drills.yaml in the drdrill project) or point the environment "
                          f"variable {CONFIG_ENV_VAR} at your drills YAML.") from None
    except IsADirectoryError:
        raise ConfigError(file, "(file)", "is a directory, not a YAML file.",
                          f"Point {CONFIG_ENV_VAR} at the YAML file itself.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "(file)", f"cannot be read: {exc}.",
                          "Check the file's permissions and that it is UTF-8 text.") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _syntax_error(file, text, exc) from None


UNCLOSED = {"quoted scalar": "quote", "flow sequence": "'[' list", "flow mapping": "'{' mapping"}


def _unclosed_opening(exc: yaml.YAMLError) -> tuple[str, yaml.Mark] | None:
    """What was left unclosed (a quote or bracket PyYAML noticed only on a later line) and where it opened."""
    context, opened, noticed = (getattr(exc, name, None) for name in ("context", "context_mark", "problem_mark"))
    if not context or opened is None or noticed is None or opened.line >= noticed.line:
        return None
    return next(((what, opened) for kind, what in UNCLOSED.items() if kind in context), None)


def _syntax_error(file: str, text: str, exc: yaml.YAMLError) -> ConfigError:
    """A ConfigError pointing at the line (and showing it) where the mistake is.

    That is where PyYAML gave up, except for an unclosed quote or bracket: PyYAML notices those lines later
    (at the end of the file, for a quote), so the line that opened it is named, with where it was noticed.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    unclosed = _unclosed_opening(exc)
    if unclosed is not None and mark is not None:
        problem = f"the {unclosed[0]} opened here is not closed ({problem} at line {mark.line + 1})"
        mark = unclosed[1]
    if mark is None:
        return ConfigError(file, "(file)", f"YAML syntax error: {problem}.", "Correct the YAML.")
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    char = line[mark.column : mark.column + 1]
    shown = f" in: {line.strip()!r}" if line.strip() else ""
    if unclosed is not None:
        fix = f"Close the {unclosed[0]} opened on line {mark.line + 1}, column {mark.column + 1}."
    elif "twice" in problem:
        fix = "Keep one of the two entries and delete the other."
    elif char in ("@", "`", "%", "*", "&", "!") and "token" in problem:
        fix = f'Quote the value: YAML cannot start a plain value with {char!r} (write "@daily", not @daily).'
    elif "\t" in line or "tab" in problem:
        fix = "Indent with spaces, not tabs."
    else:
        fix = "Correct the YAML there: indent with spaces, put a space after ':', close brackets and quotes."
    return ConfigError(file, f"line {mark.line + 1}", f"YAML syntax error: {problem} (column {mark.column + 1}){shown}.",
                       fix)
