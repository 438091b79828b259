"""A port base for a sandbox of a test's own: its four ports can be bound right now."""

from __future__ import annotations

import dataclasses
import random

from drdrill.errors import PortInUseError
from drdrill.ports import ensure_port_free
from drdrill.sandbox.stack import SandboxPorts


def free_base() -> int:
    """A port base below the ephemeral range whose four sandbox ports can be bound right now."""
    for _ in range(100):
        base = random.randrange(20000, 32000, 10)
        try:
            for port in dataclasses.astuple(SandboxPorts.from_base(base)):
                ensure_port_free(port, "the test")
        except PortInUseError:
            continue
        return base
    raise RuntimeError("no free port range")
