"""Pydantic's validation errors in drdrill's words: the file, the key (``targets[shop].objectives.rto``), the
problem and the fix: did-you-mean for unknown keys, the section a misplaced key belongs to, an example value.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import ErrorDetails

from drdrill.config.models import TARGET_ONLY_KEYS, DrillsFile, Target, TargetDefaults
from drdrill.config.values import PATTERN_RULES, TARGET_NAME_PATTERN, describe
from drdrill.errors import ConfigError

_ABSENT = object()
_UNKNOWN_KEY = ("unexpected_keyword_argument", "invalid_key")
# How to write a whole mapping that is not one, where no example value says it.
_MAPPING_FIXES = {DrillsFile: "Write it as settings:, defaults: and targets: sections.",
                  TargetDefaults: "Write it as a mapping of target keys.",
                  Target: "Write each target as a mapping with at least name, source_conn_id and databases."}
_PLAIN_YAML = re.compile(r"[A-Za-z0-9_/]([A-Za-z0-9_.\-/ ]*[A-Za-z0-9_.\-/])?")


def config_error_from(error: ValidationError, file: str, raw: Any) -> ConfigError:
    """The first problem of ``error`` (an unknown key first: it often explains the others) as a ConfigError."""
    return _first_problem(list(enumerate(error.errors())), file, raw)


def target_errors_from(error: ValidationError, file: str, raw: Any) -> dict[int, ConfigError] | None:
    """The first problem of each target at fault, by its index, when every problem lies inside one target
    (``targets[i]...``); None when something else is wrong too (settings, defaults, the list itself)."""
    by_target: dict[int, list[tuple[int, Any]]] = {}
    for order, details in enumerate(error.errors()):
        loc = details["loc"]
        if len(loc) < 2 or loc[0] != "targets" or not isinstance(loc[1], int) or isinstance(loc[1], bool):
            return None
        by_target.setdefault(loc[1], []).append((order, details))
    return {index: _first_problem(problems, file, raw) for index, problems in by_target.items()}


def _first_problem(problems: list[tuple[int, Any]], file: str, raw: Any) -> ConfigError:
    details = min(problems, key=lambda item: (item[1]["type"] not in _UNKNOWN_KEY, item[0]))[1]
    key, problem, fix = _explain(details, raw)
    return ConfigError(file, key, problem, fix)


class _Place(NamedTuple):
    """Where in the schema a location points: the dataclass holding the key, the key, its field, the type there."""

    owner: Any
    name: str
    field: FieldInfo | None
    type: Any


def _place(loc: tuple[Any, ...]) -> _Place:
    """Walk the schema from the file's top along ``loc``."""
    owner: Any = None
    current: Any = DrillsFile
    name, field = "", None
    for step in loc:
        if isinstance(step, int) and not isinstance(step, bool):
            current = _unwrapped(get_args(current)[0]) if get_origin(current) is tuple else None
            continue
        fields = getattr(current, "__pydantic_fields__", {})
        owner, name, field = current, str(step), fields.get(step)
        current = _unwrapped(field.annotation) if field is not None else None
    return _Place(owner, name, field, current)


def _unwrapped(annotation: Any) -> Any:
    """``X`` out of ``X | None`` and ``Annotated[X, ...]``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation


def _raw_at(loc: tuple[Any, ...], raw: Any) -> Any:
    """What the file itself has at ``loc`` (the loader drops nulls, so there a missing key may be a null one)."""
    for step in loc:
        try:
            raw = raw[step]
        except (KeyError, IndexError, TypeError):
            return _ABSENT
    return raw


def _key(loc: tuple[Any, ...], raw: Any) -> str:
    """``targets[shop].objectives.rto``: a target by its name when it has a valid one, else by its index."""
    key = ""
    for depth, step in enumerate(loc):
        if isinstance(step, int) and not isinstance(step, bool):
            name = _raw_at((*loc[: depth + 1], "name"), raw) if key == "targets" else None
            key += f"[{name if isinstance(name, str) and re.fullmatch(TARGET_NAME_PATTERN, name) else step}]"
        else:
            key = f"{key}.{step}" if key else str(step)
    return key or "(top level)"


def _example(field: FieldInfo | None) -> str:
    """The key's documented example, written as YAML."""
    examples = field.examples if field is not None else None
    return _flow_yaml(examples[0]) if examples else "..."


def _flow_yaml(value: Any) -> str:
    """``value`` written as YAML on one line: ``{rto: 30m, rpo: 15m}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow_yaml(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_flow_yaml, value)) + "]"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return str(value) if _PLAIN_YAML.fullmatch(str(value)) else json.dumps(value)


def _where(loc: tuple[Any, ...]) -> str:
    """Where a key at ``loc`` is added: to this target (or to defaults), under a section of it, ..."""
    place = _place(loc)
    if place.owner is Target:
        return "to this target" if place.name in TARGET_ONLY_KEYS else "to this target or to defaults"
    if place.owner is DrillsFile or len(loc) < 2:
        return "to the file"
    section = _place(loc[:-1])
    if section.field is not None and not section.field.is_required():
        return f"to this {section.name} section"
    return f"under {section.name} {_where(loc[:-1])}"


def _file_keys(owner: Any) -> list[str]:
    """The keys the file may use in ``owner``: its fields but those left out of the schema (Heartbeat.schema)."""
    skipped: type = SkipJsonSchema
    return [name for name, field in getattr(owner, "__pydantic_fields__", {}).items()
            if not any(isinstance(item, skipped) for item in field.metadata)]


def _misplaced_hints(owner: Any) -> dict[str, str]:
    """For keys written one level too high (``rto:`` right under a target): which section they belong to."""
    hints = {}
    for section, field in getattr(owner, "__pydantic_fields__", {}).items():
        for name in _file_keys(_unwrapped(field.annotation)):
            hints[name] = (f"{name!r} belongs under {section}: move it there, e.g. {section}: "
                           f"{_example(field)}.")
    if owner is TargetDefaults:
        hints.update({name: f"{name!r} is specific to each target; move it into the target(s)."
                      for name in TARGET_ONLY_KEYS})
    return hints


def _unknown_key(owner: Any, name: Any) -> tuple[str, str]:
    """(problem, fix) for a key ``owner`` does not have: a misplaced one, a typo, or one to remove."""
    allowed = _file_keys(owner)
    allowed_list = ", ".join(allowed)
    if not isinstance(name, str):
        return (f"key {name!r} is not text (YAML reads unquoted yes/no/on/off/true/false and numbers as values).",
                f'Quote the key, e.g. "{name}":, or use one of the allowed keys: {allowed_list}.')
    hint = _misplaced_hints(owner).get(name)
    if hint:
        return f"unknown key {name!r} here.", f"{hint} Allowed keys here: {allowed_list}."
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {name!r}.", f"Did you mean {close[0]!r}? Rename it (allowed keys here: {allowed_list})."
    return f"unknown key {name!r}.", f"Remove it or use one of the allowed keys: {allowed_list}."


def _bounds(field: FieldInfo | None) -> str:
    """``from 1 to 64`` or ``1 or more``: a whole number's range."""
    metadata = field.metadata if field is not None else []
    low = next((item.ge for item in metadata if getattr(item, "ge", None) is not None), None)
    high = next((item.le for item in metadata if getattr(item, "le", None) is not None), None)
    return f"from {low} to {high}" if high is not None else f"{low} or more"


_SAID = {  # pydantic's error type: the problem and the fix, with the values _explain fills in
    "string_type": ("must be a string, got {got}.", "Write it as text, e.g. {name}: {example}."),
    "path_type": ("must be a string, got {got}.", "Write it as text, e.g. {name}: {example}."),
    "string_pattern_mismatch": ("{value!r} is not valid: {rule}.", "Use a value like {name}: {example}."),
    "bool_type": ("must be true or false, got {got}.", "Write {name}: true or {name}: false (unquoted)."),
    "int_type": ("must be a whole number {bounds}, got {got}.", "Write it as a number, e.g. {name}: {example}."),
    "greater_than_equal": ("{value} is out of range; it must be {bounds}.", "Use a value {bounds}."),
    "less_than_equal": ("{value} is out of range; it must be {bounds}.", "Use a value {bounds}."),
    "dataclass_type": ("must be a mapping, got {got}.", "{mapping_fix}"),
    "tuple_type": ("must be a list of strings, got {got}.", "Write it as {name}: {example}."),
    "too_short": ("is empty; list at least one.", "Add {name}: {example}{about}."),
}


def _explain(details: ErrorDetails, raw: Any) -> tuple[str, str, str]:
    """(key, problem, fix) for one pydantic error."""
    kind, loc, value, context = details["type"], tuple(details["loc"]), details["input"], details.get("ctx", {})
    if kind in _UNKNOWN_KEY:
        name = value if kind == "invalid_key" else loc[-1]
        key = f"{_key(loc[:-1], raw)}.{name}" if len(loc) > 1 else str(name)
        return (key, *_unknown_key(_place(loc[:-1]).type, name))
    loc += tuple(context["field"].split(".")) if context.get("field") else ()
    key, place = context.get("key") or _key(loc, raw), _place(loc)
    name, example = place.name, _example(place.field)
    about = f" ({place.field.description})" if place.field is not None and place.field.description else ""
    if kind == "drdrill":
        return key, context["problem"], context["fix"].replace("{name}", name).replace("{example}", example).replace(
            "{where}", _where(loc))
    if kind == "missing":
        addition = f"{name}: {example}" if dataclasses.is_dataclass(place.type) else f"`{name}: {example}`"
        return (key, f"{'is null' if _raw_at(loc, raw) is None else 'is missing'}; it is required.",
                f"Add {addition} {_where(loc)}{about}.")
    if loc and isinstance(loc[-1], int) and (kind == "string_type" or context.get("pattern") == r"\S"):
        return key, f"must be a non-empty string, got {describe(value)}.", f"Write each entry as text, e.g. {name}: {example}."
    if kind == "tuple_type" and isinstance(value, str):
        return key, f"must be a list, got {describe(value)}.", f"Write it as a list: {name}: [{value}]."
    problem, fix = _SAID.get(kind, ("{message}.", "Write it like {name}: {example} (include/drills.yaml documents it)."))
    said = {"got": describe(value), "name": name, "example": example, "value": value, "about": about,
            "rule": PATTERN_RULES.get(context.get("pattern", ""), f"must match {context.get('pattern')}"),
            "bounds": _bounds(place.field), "message": details["msg"],
            "mapping_fix": _MAPPING_FIXES.get(place.type, f"Write it as {example}.")}
    return key, problem.format(**said), fix.format(**said)
