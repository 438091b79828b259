"""``drdrill.errors``: every error says what went wrong and, when known, how to fix it."""

from __future__ import annotations

import pytest

from drdrill.errors import ConfigError, DrdrillError, PortInUseError, ServerStartError, ToolError

pytestmark = pytest.mark.unit


def test_message_is_the_problem_then_the_fix() -> None:
    error = DrdrillError("The bucket does not exist.", "create it with aws s3 mb.")
    assert str(error) == "The bucket does not exist. Fix: create it with aws s3 mb."
    assert (error.problem, error.fix) == ("The bucket does not exist.", "create it with aws s3 mb.")


@pytest.mark.parametrize("fix", [None, ""])
def test_without_a_fix_the_message_is_the_problem_alone(fix: str | None) -> None:
    error = DrdrillError("Something broke.", fix)
    assert str(error) == "Something broke."
    assert "Fix:" not in str(error)


def test_config_error_names_file_and_key_before_the_problem() -> None:
    error = ConfigError("include/drills.yaml", "targets[shop].objectives.rto", "'soon' is not a duration.", "write 30m.")
    assert str(error) == "include/drills.yaml: targets[shop].objectives.rto: 'soon' is not a duration. Fix: write 30m."
    assert (error.file, error.key, error.fix) == ("include/drills.yaml", "targets[shop].objectives.rto", "write 30m.")
    assert error.problem.startswith("include/drills.yaml: targets[shop].objectives.rto: ")


@pytest.mark.parametrize("kind", [ConfigError, PortInUseError, ServerStartError, ToolError])
def test_every_specific_error_is_caught_as_a_drdrill_error(kind: type[DrdrillError]) -> None:
    args = ("f.yaml", "k", "problem.", "fix.") if kind is ConfigError else ("problem.", "fix.")
    with pytest.raises(DrdrillError) as caught:
        raise kind(*args)
    assert type(caught.value) is kind and str(caught.value).endswith("problem. Fix: fix.")
