"""The value types of the drills YAML (durations, sizes, schedules, names, ...), each with its check and JSON Schema.

A check that fails raises :func:`config_error` with the problem and the fix in drdrill's words; a pattern that
does not match is told in the words of :data:`PATTERN_RULES` (the patterns need ``regex_engine="python-re"``:
look-aheads). The ``messages`` module fills in the key.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from croniter import CroniterError, croniter
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, Strict, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from drdrill.durations import ACCEPTED_FORMS as DURATION_FORMS
from drdrill.durations import format_duration, parse_duration
from drdrill.engines import ALIASES, canonical_engine_name, describe_aliases, engine_names
from drdrill.locations import project_root
from drdrill.servers.faults import FAULT_TYPES
from drdrill.sizes import ACCEPTED_FORMS as SIZE_FORMS
from drdrill.sizes import parse_size
from drdrill.storage.encryption import SERVER_SIDE_MODES
from drdrill.storage.object_lock import LOCK_MODES

FAULTS = tuple(FAULT_TYPES)
ERRANT_POLICIES = {"flashback": "roll them back on the old primary after saving them",
                   "stop": "leave the old primary out of replication for a DBA to decide"}
SCHEDULE_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@once")
DEFAULT_HISTORY_URL = "sqlite:///{root}/.sandbox/history.sqlite"

TARGET_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
QUALIFIED_TABLE_PATTERN = r"^[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+$"
PATTERN_RULES: dict[str, str] = {QUALIFIED_TABLE_PATTERN: "must be schema.table"}  # each pattern, in words
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://.*")


def config_error(problem: str, fix: str, *, field: str = "", key: str = "") -> PydanticCustomError:
    """A validation error in drdrill's words.

    ``fix`` may say ``{name}``, ``{example}`` and ``{where}``: the key, its documented example and where to add
    it. ``field`` names a key below the one validated (``failover_drill.canary_conn_id`` on a target); ``key``
    replaces the whole key path.
    """
    return PydanticCustomError("drdrill", "{problem}", {"problem": problem, "fix": fix, "field": field, "key": key})


def describe(value: Any) -> str:
    """YAML-flavoured type name plus the value, for 'got ...' messages."""
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
    if value is None:
        return "null"
    shown = repr(value)
    return f"{kinds.get(type(value), type(value).__name__)} {shown if len(shown) <= 60 else shown[:57] + '...'}"


def _parsed(parse: Any, fix: str) -> BeforeValidator:
    """``parse``'s value; its TypeError or ValueError becomes the problem, told with ``fix``."""
    def check(value: Any) -> Any:
        try:
            return parse(value)
        except (TypeError, ValueError) as exc:
            raise config_error(f"{exc}.", fix) from None
    return BeforeValidator(check)


def _matching(pattern: str, rule: str) -> StringConstraints:
    """A string that matches ``pattern``; a mismatch is told as ``rule`` (:data:`PATTERN_RULES`)."""
    PATTERN_RULES[pattern] = rule
    return StringConstraints(pattern=pattern)


def _schedule(value: Any) -> str:
    """A cron expression with 5 fields or a preset, stripped; the fix shows both forms."""
    fix = ('Use a 5-field cron expression (minute hour day-of-month month day-of-week), e.g. {name}: "0 2 * * *", '
           f"a preset ({', '.join(SCHEDULE_PRESETS)}), or null for manual runs only.")
    if not isinstance(value, str):
        raise config_error(f"must be a cron expression or preset in quotes, got {describe(value)}.", fix)
    expression, fields = value.strip(), len(value.split())
    if expression.startswith("@"):
        if expression not in SCHEDULE_PRESETS:
            raise config_error(f"{value!r} is not a known preset.", fix)
        return expression
    if fields != 5:
        raise config_error(f"{value!r} has {fields} fields; a cron expression has exactly 5.", fix)
    try:
        croniter.expand(expression)
    except (CroniterError, ValueError) as exc:
        raise config_error(f"{value!r} is not a valid cron expression: {exc}.", fix) from None
    return expression


def _engine(value: Any) -> str:
    canonical = canonical_engine_name(value) if isinstance(value, str) else None
    if canonical is None:
        raise config_error(f"unknown engine {value!r}.",
                           f"Use one of: {', '.join(engine_names())} (also accepted: {describe_aliases()}).")
    return canonical


def _one_of(noun: str, choices: Any, fix: str) -> Any:
    """A string that must be one of ``choices``."""
    def check(value: str) -> str:
        if value not in choices:
            raise config_error(f"unknown {noun} {value!r}.", fix)
        return value
    return AfterValidator(check), WithJsonSchema({"type": "string", "enum": list(choices)})


def _no_repeats(entries: tuple[str, ...]) -> tuple[str, ...]:
    repeated = sorted({entry for entry in entries if entries.count(entry) > 1})
    if repeated:
        raise config_error(f"lists {', '.join(map(repr, repeated))} more than once.", "Remove the repeats.")
    return entries


def _history_url(url: str) -> str:
    url = url.replace("{root}", str(project_root()))
    if not _URL_RE.fullmatch(url):
        raise config_error(f"{url!r} is not a SQLAlchemy database URL.",
                           f"Use a URL like {DEFAULT_HISTORY_URL} or postgresql+psycopg2://user@host/drdrill.")
    return url


def _under_project(path: Any) -> Any:
    """``{root}`` expanded; a relative path is taken from the project directory."""
    if not isinstance(path, str):
        return path
    expanded = Path(path.replace("{root}", str(project_root()))).expanduser()
    return expanded if expanded.is_absolute() else project_root() / expanded


def _string_or_number(description: str, pattern: str, number: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"description": description, "anyOf": [{"type": "string", "pattern": pattern}, number]})


def _duration(*, allow_zero: bool) -> Any:
    """A duration key's type: ``15m``-style text or seconds; zero allowed only where it means "none"."""
    return Annotated[timedelta, _parsed(
        lambda value: value if isinstance(value, timedelta) else parse_duration(value, allow_zero=allow_zero),
        "Write a duration of zero or more, e.g. {name}: {example}." if allow_zero
        else "Write a positive duration, e.g. {name}: {example}."),
        PlainSerializer(format_duration, return_type=str),
        _string_or_number(f"a duration: {DURATION_FORMS}", r"^\s*([0-9]+|([0-9]+[wW])?([0-9]+[dD])?"
                          r"([0-9]+[hH])?([0-9]+[mM])?([0-9]+(\.[0-9]+)?[sS])?)\s*$",
                          {"type": "number", "minimum": 0} if allow_zero else {"type": "number", "exclusiveMinimum": 0})]


Duration = _duration(allow_zero=False)
DurationOrZero = _duration(allow_zero=True)
Size = Annotated[int, _parsed(parse_size, "Write a size like {name}: 1GB."), _string_or_number(
    f"a size: {SIZE_FORMS}", r"^\s*[0-9]+(\.[0-9]+)? ?([bBkKmMgGtT]|[kKmMgGtT][iI]?[bB])?\s*$",
    {"type": "integer", "minimum": 0})]
Schedule = Annotated[str, BeforeValidator(_schedule), WithJsonSchema({
    "type": "string", "description": "a 5-field cron expression or a preset, in quotes",
    "pattern": rf"^\s*(@({'|'.join(p[1:] for p in SCHEDULE_PRESETS)})|[^@\s]\S*(\s+\S+){{4}})\s*$"})]
EngineName = Annotated[str, BeforeValidator(_engine),
                       WithJsonSchema({"type": "string", "enum": [*engine_names(), *ALIASES]})]
Fault = Annotated[str, *_one_of("fault", FAULTS, f"Use one of: {', '.join(FAULTS)}.")]
ErrantPolicy = Annotated[str, *_one_of("policy", ERRANT_POLICIES, "Use " + " or ".join(
    f"{name} ({meaning})" for name, meaning in ERRANT_POLICIES.items()) + ".")]
LockMode = Annotated[str, *_one_of("Object Lock mode", LOCK_MODES, "Use " + " or ".join(
    f"{name} ({meaning})" for name, meaning in LOCK_MODES.items()) + ".")]
ServerSideEncryption = Annotated[str, *_one_of("server-side encryption", SERVER_SIDE_MODES, "Use " + ", ".join(
    f"{name} ({meaning})" for name, meaning in SERVER_SIDE_MODES.items()) + ".")]
Flag = Annotated[bool, Strict()]
Count = Annotated[int, Strict()]
Text = Annotated[str, _matching(r"^\S", "must not be blank")]
TargetName = Annotated[str, _matching(TARGET_NAME_PATTERN, "a target name is 1-63 characters of lowercase letters, "
                                      "digits and '_', starting with a letter (it becomes part of DAG ids)")]
ConnectionId = Annotated[str, _matching(r"^[A-Za-z0-9_.\-]{1,250}$",
                                        "an Airflow connection id has only letters, digits, '_', '-' and '.'")]
PoolName = Annotated[str, _matching(r"^[A-Za-z0-9_.\-]{1,256}$",
                                    "an Airflow pool name has only letters, digits, '_', '-' and '.'")]
BucketName = Annotated[str, _matching(
    r"^(?!xn--)(?!.*\.\.)(?![0-9.]+$)[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$", "an S3 bucket name is 3-63 characters of "
    "lowercase letters, digits, '.' and '-', starting and ending with a letter or digit (no '..', not an IP address, "
    "not starting with 'xn--')")]
Prefix = Annotated[str, _matching(r"^(?!/)(?!.*//)(?!.*/$)", "must not start or end with '/' or contain '//'")]
Identifier = Annotated[str, _matching(r"^[A-Za-z0-9_$]+$", "must be a column name")]
Names = Annotated[tuple[Annotated[str, StringConstraints(pattern=r"\S")], ...], AfterValidator(_no_repeats)]
SchemaNames = Annotated[tuple[Annotated[str, _matching(r"^(?=.{1,64}$)\S(.*\S)?$", "a schema name has at most 64 "
                                                       "characters and no surrounding spaces (write it as SHOW DATABASES "
                                                       "prints it)")], ...], AfterValidator(_no_repeats)]
HistoryURL = Annotated[str, AfterValidator(_history_url)]
ProjectPath = Annotated[Path, BeforeValidator(_under_project)]
