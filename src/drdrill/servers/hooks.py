"""The user's own commands from the failover_drill config (``redirect_command``, ``restart_command``)."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Mapping

from drdrill.errors import DrdrillError
from drdrill.toolenv import tool_environment


def run_hook(setting: str, command: str, *, timeout: float, consequence: str,
             env: Mapping[str, str] | None = None) -> float:
    """Run ``failover_drill.<setting>`` with ``env`` added to the tools' environment; its seconds.

    DrdrillError naming the setting when the command cannot start, runs past ``timeout`` or exits non-zero;
    ``consequence`` says what that leaves undone.
    """
    argv = shlex.split(command)
    began = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env={**tool_environment(), **(env or {})}, check=False)
    except OSError as exc:
        raise DrdrillError(f"failover_drill.{setting} could not start {argv[0]!r}: {exc.strerror}.",
                           f"use the full path of an executable; {consequence}") from None
    except subprocess.TimeoutExpired:
        raise DrdrillError(f"failover_drill.{setting} did not finish within {timeout:.0f} s.",
                           f"make it finish sooner; {consequence}") from None
    if done.returncode != 0:
        raise DrdrillError(f"failover_drill.{setting} exited with {done.returncode}: {(done.stderr or done.stdout)[-800:]}",
                           f"fix the command; {consequence}")
    return round(time.monotonic() - began, 3)
