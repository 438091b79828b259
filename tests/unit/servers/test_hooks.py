"""The user's own commands (redirect_command, restart_command): how long they took, or an error naming the setting."""

from __future__ import annotations

import pytest

from drdrill.errors import DrdrillError
from drdrill.servers.hooks import run_hook

pytestmark = pytest.mark.unit


def test_a_command_that_succeeds_returns_its_seconds_and_sees_the_extra_environment(tmp_path) -> None:
    seen = tmp_path / "seen"
    seconds = run_hook("redirect_command", f"sh -c 'echo $DRDRILL_NEW_PRIMARY_PORT > {seen}'", timeout=10,
                       consequence="x", env={"DRDRILL_NEW_PRIMARY_PORT": "3307"})
    assert 0 <= seconds < 10 and seen.read_text() == "3307\n"


@pytest.mark.parametrize(("command", "says"), [
    ("sh -c 'echo proxysql unreachable >&2; exit 3'", "failover_drill.redirect_command exited with 3: proxysql unreachable"),
    ("/nonexistent/repoint --now", "failover_drill.redirect_command could not start '/nonexistent/repoint'"),
    ("sleep 5", "failover_drill.redirect_command did not finish within 0 s"),
])
def test_a_command_that_fails_is_an_error_naming_the_setting_and_what_is_left_undone(command: str, says: str) -> None:
    timeout = 0.2 if command.startswith("sleep") else 10
    with pytest.raises(DrdrillError, match="clients may still use the old primary") as caught:
        run_hook("redirect_command", command, timeout=timeout, consequence="clients may still use the old primary.")
    assert says in str(caught.value)
