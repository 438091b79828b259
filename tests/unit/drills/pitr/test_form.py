"""The PITR drill's trigger form: the DAG's Params, the options and the CLI flags, from one declaration."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

import pytest

from drdrill.drills.form import FormValueError, add_flags, param_specs, params_from_flags, read_form
from drdrill.drills.pitr.form import PitrOptions

pytestmark = pytest.mark.unit


def test_params_keep_their_names_types_defaults_titles_and_descriptions() -> None:
    assert param_specs(PitrOptions) == {
        "target_time": {"default": "", "type": "string", "title": "Recover to (ISO-8601, UTC)",
                        "description": "A whole second, e.g. 2026-11-21T08:00:00Z; empty: a random recoverable second."},
        "keep_scratch": {"default": False, "type": "boolean", "title": "Keep the scratch server",
                         "description": "Leave the recovered server running for inspection."},
        "disaster_at": {"default": "", "type": "string", "title": "Declared disaster (ISO-8601, UTC)",
                        "description": "The moment RTO is measured from; empty: the drill's start."},
    }


def test_an_empty_form_recovers_to_a_random_second_from_the_drills_start() -> None:
    assert read_form(PitrOptions, {}) == PitrOptions(target_time=None, keep_scratch=False, disaster_at=None)


def test_a_bad_target_time_is_refused_saying_what_empty_means() -> None:
    with pytest.raises(FormValueError) as refused:
        read_form(PitrOptions, {"target_time": "noon"})
    assert refused.value.problem == "target_time 'noon' is not an ISO-8601 time."
    assert refused.value.fix == "Use a time like 2026-11-21T08:00:00Z, or leave it empty for a random recoverable second."


def test_cli_flags_keep_their_names_and_set_the_target_second() -> None:
    parser = argparse.ArgumentParser(prog="drdrill pitr")
    add_flags(parser, PitrOptions)
    assert " ".join(parser.format_usage().split()) == "usage: drdrill pitr [-h] [--to TO] [--keep-scratch]"
    options = read_form(PitrOptions, params_from_flags(PitrOptions, parser.parse_args(
        ["--to", "2026-11-21T08:00:00Z", "--keep-scratch"])))
    assert options == PitrOptions(target_time=datetime(2026, 11, 21, 8, tzinfo=timezone.utc), keep_scratch=True)
