"""Exception types that carry a cause and a fix, so every failure tells the user what to do."""

from __future__ import annotations


class DrdrillError(Exception):
    """Base error: ``str()`` gives what went wrong and how to fix it."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} Fix: {fix}" if fix else problem)


class ConfigError(DrdrillError):
    """The drills YAML (or a value in it) is wrong; names the file and the key."""

    def __init__(self, file: str, key: str, problem: str, fix: str) -> None:
        self.file = file
        self.key = key
        self.detail = problem  # the problem without the file and key
        super().__init__(f"{file}: {key}: {problem}", fix)


class PortInUseError(DrdrillError):
    """A port the sandbox wants is taken by another process."""


class ServerStartError(DrdrillError):
    """A local server process did not come up."""


class ToolError(DrdrillError):
    """An external tool (mariadb-dump, zstd, ...) failed; the message has its classified stderr."""


class ToolStalled(ToolError):
    """An external tool produced nothing for its stall timeout and was stopped (a stalled connection)."""


class TLSFailed(DrdrillError):
    """A login configured for TLS could not make a verified, encrypted session (wrong CA, or the server has no TLS)."""
