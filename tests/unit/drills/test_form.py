"""The trigger-form machinery: Param specs, reading params with clear errors, CLI flags, all from one declaration."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from drdrill.drills.form import (
    FormValueError,
    Kind,
    add_flags,
    form_field,
    form_fields,
    param_specs,
    params_from_flags,
    read_field,
    read_form,
)

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Options:
    mode: str = form_field(Kind.CHOICE, "a", choices=("a", "b"), title="Mode", description="a or b.")
    name: str = form_field(Kind.TEXT, "", title="Name", description="A name.", flag="--name", flag_help="the name",
                           selects=("mode", "b"))
    count: int = form_field(Kind.INTEGER, 3, minimum=1, title="Count", description="How many.", flag="--count",
                            flag_help="how many", flag_position=-1)
    keep: bool = form_field(Kind.BOOLEAN, False, title="Keep", description="Keep it.", flag="--keep", flag_help="keep")
    at: datetime | None = form_field(Kind.TIME, "", title="At", description="When.", empty_means="now")
    limit: timedelta | None = form_field(Kind.DURATION, "", title="Limit", description="How long.")


def test_defaults_are_the_form_defaults_as_read() -> None:
    assert Options() == Options(mode="a", name="", count=3, keep=False, at=None, limit=None)
    assert read_form(Options, {}) == Options()
    assert [field.name for field in form_fields(Options)] == ["mode", "name", "count", "keep", "at", "limit"]


def test_param_specs_carry_type_default_title_description_and_validation() -> None:
    specs = param_specs(Options)
    assert list(specs) == ["mode", "name", "count", "keep", "at", "limit"]
    assert specs["mode"] == {"default": "a", "type": "string", "enum": ["a", "b"], "title": "Mode", "description": "a or b."}
    assert specs["count"] == {"default": 3, "type": "integer", "minimum": 1, "title": "Count", "description": "How many."}
    assert specs["keep"]["type"] == "boolean" and specs["at"] == {"default": "", "type": "string", "title": "At",
                                                                  "description": "When."}


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-21T08:00:00Z", datetime(2026, 11, 21, 8, tzinfo=timezone.utc)),
    (" 2026-11-21T08:00:00 ", datetime(2026, 11, 21, 8, tzinfo=timezone.utc)),
    ("", None), ("   ", None), (None, None),
])
def test_a_time_field_reads_an_iso_time_or_nothing(text: str | None, expected: datetime | None) -> None:
    assert read_form(Options, {"at": text}).at == expected


def test_values_are_read_into_their_types() -> None:
    options = read_form(Options, {"mode": "b", "count": "5", "keep": True, "at": " 2026-11-21T08:00:00Z ",
                                  "limit": "10m"})
    assert options.mode == "b" and options.count == 5 and options.keep is True
    assert options.at == datetime(2026, 11, 21, 8, tzinfo=timezone.utc)
    assert options.limit == timedelta(minutes=10)
    assert read_form(Options, {"at": "2026-11-21T08:00:00"}).at == datetime(2026, 11, 21, 8, tzinfo=timezone.utc)
    assert read_form(Options, {"at": "", "limit": "  ", "count": None}) == Options()


@pytest.mark.parametrize("params,message,fix", [
    ({"at": "yesterday"}, "at 'yesterday' is not an ISO-8601 time.",
     "Use a time like 2026-11-21T08:00:00Z, or leave it empty for now."),
    ({"limit": "soon"}, "limit 'soon': invalid duration 'soon'", None),
    ({"count": "many"}, "count 'many' is not a whole number of at least 1.", "Give a whole number of at least 1, e.g. 3."),
    ({"count": 0}, "count 0 is not a whole number of at least 1.", "Give a whole number of at least 1, e.g. 3."),
    ({"mode": "c"}, "mode 'c' is not one of a, b.", "Choose one of a, b."),
])
def test_bad_values_are_refused_naming_the_field_the_value_and_the_fix(params, message, fix) -> None:
    with pytest.raises(FormValueError) as refused:
        read_form(Options, params)
    assert refused.value.problem.startswith(message)
    assert refused.value.fix == fix


def test_one_field_reads_alone_so_a_bad_neighbour_does_not_hide_it() -> None:
    assert read_field(Options, "keep", {"keep": True, "at": "yesterday"}) is True


def test_flags_are_added_in_position_order_and_set_the_params_they_imply() -> None:
    parser = argparse.ArgumentParser(prog="x")
    add_flags(parser, Options)
    assert parser.format_usage().split() == ["usage:", "x", "[-h]", "[--count", "COUNT]", "[--name", "NAME]", "[--keep]"]
    given = parser.parse_args(["--name", "n", "--count", "4", "--keep"])
    assert params_from_flags(Options, given) == {"name": "n", "mode": "b", "count": 4, "keep": True}
    assert params_from_flags(Options, parser.parse_args([])) == {}
    assert read_form(Options, params_from_flags(Options, given)) == Options(mode="b", name="n", count=4, keep=True)


@dataclass(frozen=True)
class PastOnly:
    at: datetime | None = form_field(Kind.TIME, "", title="At", description="When.", empty_means="now", past_only=True)


def test_a_past_only_time_refuses_the_future_and_keeps_the_past() -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    assert read_form(PastOnly, {"at": "2026-01-01T00:00:00Z"}).at == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert read_form(PastOnly, {"at": (now + timedelta(seconds=20)).isoformat()}).at  # a clock a bit ahead
    assert read_form(PastOnly, {"at": ""}).at is None
    with pytest.raises(FormValueError) as refused:
        read_form(PastOnly, {"at": (now + timedelta(days=1)).isoformat()})
    assert "is in the future" in refused.value.problem and "leave it empty for now" in (refused.value.fix or "")
    assert read_form(Options, {"at": "2999-01-01T00:00:00Z"}).at.year == 2999  # only where the form asks for it
