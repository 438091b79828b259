"""The restore drill's trigger form: the DAG's Params, the options and the CLI flags, from one declaration."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

import pytest

from drdrill.drills.form import FormValueError, add_flags, param_specs, params_from_flags, read_form
from drdrill.drills.restore.form import RestoreOptions

pytestmark = pytest.mark.unit


def test_params_keep_their_names_types_defaults_titles_and_descriptions() -> None:
    assert param_specs(RestoreOptions) == {
        "backup": {"default": "newest", "type": "string", "enum": ["newest", "backup_id", "random"],
                   "title": "Which backup",
                   "description": "newest valid backup; a given backup id; or a random valid backup within the window."},
        "backup_id": {"default": "", "type": "string", "title": "Backup id",
                      "description": "With 'backup_id': e.g. 20261121T083012Z-a1b2c3."},
        "window_days": {"default": 7, "type": "integer", "minimum": 1, "title": "Window (days)",
                        "description": "With 'random': how far back."},
        "keep_scratch": {"default": False, "type": "boolean", "title": "Keep the scratch server",
                         "description": "Leave the restored server running for inspection (its login is in the "
                                        "teardown log)."},
        "rto_objective": {"default": "", "type": "string", "title": "RTO objective override",
                          "description": "e.g. 10m; empty: the target's."},
        "rpo_objective": {"default": "", "type": "string", "title": "RPO objective override",
                          "description": "e.g. 5m; empty: the target's."},
        "disaster_at": {"default": "", "type": "string", "title": "Declared disaster (ISO-8601, UTC)",
                        "description": "The moment RTO and RPO are measured from; empty: the drill's start."},
    }


def test_an_empty_form_restores_the_newest_backup_with_the_targets_objectives() -> None:
    assert read_form(RestoreOptions, {}) == RestoreOptions() == RestoreOptions(
        backup="newest", backup_id="", window_days=7, keep_scratch=False, rto_objective=None, rpo_objective=None,
        disaster_at=None)


def test_overrides_are_read_as_durations_and_the_disaster_as_a_utc_time() -> None:
    options = read_form(RestoreOptions, {"backup": "random", "window_days": 3, "rto_objective": "10m",
                                         "rpo_objective": "90s", "disaster_at": "2026-11-21T08:00:00Z"})
    assert (options.backup, options.window_days) == ("random", 3)
    assert options.rto_objective == timedelta(minutes=10) and options.rpo_objective == timedelta(seconds=90)
    assert options.disaster_at == datetime(2026, 11, 21, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize("params,problem", [
    ({"rto_objective": "ten minutes"}, "rto_objective 'ten minutes': invalid duration"),
    ({"rpo_objective": "-5m"}, "rpo_objective '-5m': invalid duration"),
    ({"disaster_at": "last tuesday"}, "disaster_at 'last tuesday' is not an ISO-8601 time."),
    ({"window_days": 0}, "window_days 0 is not a whole number of at least 1."),
    ({"backup": "oldest"}, "backup 'oldest' is not one of newest, backup_id, random."),
])
def test_bad_values_are_refused_with_a_clear_message(params, problem) -> None:
    with pytest.raises(FormValueError) as refused:
        read_form(RestoreOptions, params)
    assert refused.value.problem.startswith(problem)


def parse(*argv: str) -> RestoreOptions:
    parser = argparse.ArgumentParser(prog="drdrill restore")
    add_flags(parser, RestoreOptions)
    return read_form(RestoreOptions, params_from_flags(RestoreOptions, parser.parse_args(argv)))


def test_cli_flags_keep_their_names_and_order() -> None:
    parser = argparse.ArgumentParser(prog="drdrill restore")
    add_flags(parser, RestoreOptions)
    assert " ".join(parser.format_usage().split()) == (
        "usage: drdrill restore [-h] [--backup-id BACKUP_ID] [--random-within-days RANDOM_WITHIN_DAYS] "
        "[--keep-scratch] [--disaster-at DISASTER_AT] [--rto RTO] [--rpo RPO]")


def test_cli_flags_choose_the_backup_as_the_form_would() -> None:
    assert parse() == RestoreOptions()
    assert parse("--backup-id", "20261121T083012Z-a1b2c3") == RestoreOptions(backup="backup_id",
                                                                             backup_id="20261121T083012Z-a1b2c3")
    assert parse("--random-within-days", "3") == RestoreOptions(backup="random", window_days=3)
    # a given backup id wins over a random pick, as before
    assert parse("--backup-id", "x", "--random-within-days", "3").backup == "backup_id"
    options = parse("--keep-scratch", "--rto", "10m", "--rpo", "5m", "--disaster-at", "2026-11-21T08:00:00Z")
    assert options.keep_scratch and options.rto_objective == timedelta(minutes=10)
    assert options.rpo_objective == timedelta(minutes=5)
    assert options.disaster_at == datetime(2026, 11, 21, 8, tzinfo=timezone.utc)


def test_a_bad_cli_value_is_the_same_error_as_in_the_form() -> None:
    with pytest.raises(FormValueError, match="rto_objective 'soon'"):
        parse("--rto", "soon")
