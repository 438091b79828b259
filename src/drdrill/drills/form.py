"""A drill's trigger form, declared once as a dataclass whose fields carry their form metadata.

From that one declaration come the DAG's ``Param`` specs (``param_specs``), the reading of a run's
``params`` into the options object (``read_form``), and the CLI's flags (``add_flags``, ``params_from_flags``):
the Airflow path and the CLI path read the same fields with the same checks and messages.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from drdrill.durations import parse_duration, parse_utc_time
from drdrill.errors import DrdrillError

T = TypeVar("T")
METADATA_KEY = "drdrill_form"
CLOCK_TOLERANCE = timedelta(minutes=1)  # a time this little ahead is the caller's clock, not the future


class Kind(enum.Enum):
    """What a field holds: how it shows in the form and how its value is read."""

    TEXT = "text"
    CHOICE = "choice"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TIME = "time"  # ISO-8601, UTC when no zone; empty: None
    DURATION = "duration"  # 90s, 15m, 1h30m; empty: None


PARAM_TYPES = {Kind.TEXT: "string", Kind.CHOICE: "string", Kind.INTEGER: "integer", Kind.BOOLEAN: "boolean",
               Kind.TIME: "string", Kind.DURATION: "string"}


class FormValueError(DrdrillError):
    """A trigger-form value that cannot be read; names the field, the value and what is accepted."""


@dataclasses.dataclass(frozen=True)
class FormField:
    """One field of a trigger form: its Param (name, type, default, title, description) and its CLI flag."""

    name: str
    kind: Kind
    default: Any
    title: str
    description: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    empty_means: str = ""  # for TIME: what an empty field stands for (said in the error's fix)
    past_only: bool = False  # for TIME: a moment in the future is refused
    flag: str | None = None
    flag_help: str = ""
    flag_position: int = 0  # the CLI lists flags by this, then in declaration order
    selects: tuple[str, str] | None = None  # (field, value) that giving this flag implies, e.g. ("backup", "random")

    def param_spec(self) -> dict[str, Any]:
        """Keyword arguments of the Airflow ``Param`` for this field."""
        spec: dict[str, Any] = {"default": self.default, "type": PARAM_TYPES[self.kind]}
        if self.choices:
            spec["enum"] = list(self.choices)
        if self.minimum is not None:
            spec["minimum"] = self.minimum
        return {**spec, "title": self.title, "description": self.description}

    def read(self, raw: Any) -> Any:
        """The field's value from a form's raw value (None or missing: the default); FormValueError when unreadable."""
        value = self.default if raw is None else raw
        if self.kind is Kind.BOOLEAN:
            return bool(value)
        if self.kind is Kind.INTEGER:
            return self._read_integer(value)
        if self.kind in (Kind.TIME, Kind.DURATION):
            return self._read_optional(value)
        text = str(value)
        if self.kind is Kind.CHOICE and text not in self.choices:
            raise FormValueError(f"{self.name} {text!r} is not one of {', '.join(self.choices)}.",
                                 f"Choose one of {', '.join(self.choices)}.")
        return text

    def _read_integer(self, value: Any) -> int:
        try:
            number = int(value) if not isinstance(value, bool) and str(value).strip() else int(self.default)
        except (TypeError, ValueError):
            number = None
        if number is None or (self.minimum is not None and number < self.minimum):
            least = f" of at least {self.minimum}" if self.minimum is not None else ""
            raise FormValueError(f"{self.name} {value!r} is not a whole number{least}.",
                                 f"Give a whole number{least}, e.g. {self.default}.")
        return number

    def _read_optional(self, value: Any) -> datetime | timedelta | None:
        """A time or a duration; None for an empty field."""
        text = str(value or "").strip()
        if not text:
            return None
        try:
            value = parse_utc_time(text) if self.kind is Kind.TIME else parse_duration(text)
        except (ValueError, TypeError) as exc:
            if self.kind is Kind.TIME:
                raise FormValueError(f"{self.name} {text!r} is not an ISO-8601 time.", "Use a time like "
                                     f"2026-11-21T08:00:00Z, or leave it empty for {self.empty_means}.") from exc
            raise FormValueError(f"{self.name} {text!r}: {exc}") from exc
        now = datetime.now(timezone.utc)
        if self.past_only and isinstance(value, datetime) and value > now + CLOCK_TOLERANCE:
            raise FormValueError(f"{self.name} {text!r} is in the future (it is {now:%Y-%m-%dT%H:%M:%SZ} now).",
                                 f"Give a moment that has passed, or leave it empty for {self.empty_means}.")
        return value


def form_field(kind: Kind, default: Any, *, title: str, description: str, **more: Any) -> Any:
    """A dataclass field that is also a form field (its name is the attribute's); the attribute's default is
    the form default as read (an empty time or duration is None)."""
    spec = FormField(name="", kind=kind, default=default, title=title, description=description, **more)
    return dataclasses.field(default=spec.read(default), metadata={METADATA_KEY: spec})


def form_fields(options_type: type) -> tuple[FormField, ...]:
    """The form's fields, in the declaration's order."""
    return tuple(dataclasses.replace(field.metadata[METADATA_KEY], name=field.name)
                 for field in dataclasses.fields(options_type) if METADATA_KEY in field.metadata)


def param_specs(options_type: type) -> dict[str, dict[str, Any]]:
    """Each field's ``Param`` keyword arguments, by Param name, in form order."""
    return {field.name: field.param_spec() for field in form_fields(options_type)}


def read_form(options_type: type[T], params: Mapping[str, Any]) -> T:
    """The options object from a run's ``params`` (missing fields take their defaults); FormValueError when unreadable."""
    return options_type(**{field.name: field.read(params.get(field.name)) for field in form_fields(options_type)})


def read_field(options_type: type, name: str, params: Mapping[str, Any]) -> Any:
    """One field's value from a run's ``params``, without reading the rest of the form."""
    field = next(field for field in form_fields(options_type) if field.name == name)
    return field.read(params.get(name))


def add_flags(parser: argparse.ArgumentParser, options_type: type) -> None:
    """The CLI flags of the fields that have one (the metavar is named after the flag, as argparse would)."""
    for field in sorted((field for field in form_fields(options_type) if field.flag), key=lambda f: f.flag_position):
        assert field.flag is not None
        if field.kind is Kind.BOOLEAN:
            parser.add_argument(field.flag, dest=field.name, action="store_true", help=field.flag_help)
        else:
            typed: dict[str, Any] = {"type": int} if field.kind is Kind.INTEGER else {}
            parser.add_argument(field.flag, dest=field.name, help=field.flag_help,
                                metavar=field.flag.lstrip("-").replace("-", "_").upper(), **typed)


def params_from_flags(options_type: type, args: argparse.Namespace) -> dict[str, Any]:
    """The form's params as the flags given set them (a flag left out leaves its field to its default)."""
    params: dict[str, Any] = {}
    for field in form_fields(options_type):
        value = getattr(args, field.name, None) if field.flag else None
        if value:
            params[field.name] = value
            if field.selects:
                params.setdefault(*field.selects)
    return params
