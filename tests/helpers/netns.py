"""A network namespace joined to this one by veth pairs, made and removed by the tests: partitions on demand.

Each link is a veth pair with a /30 of 10.213.0.0/16 (the host side ``.1``, the namespace side ``.2``). ``cut``
blackholes a link: the namespace end goes down while both ends keep a permanent neighbour entry, so packets
vanish with no reset and no "unreachable" (an established connection stalls, a new one times out), as in a real
partition. ``heal`` undoes it. Names start with ``ddp`` and carry this process's pid; namespaces of dead test
processes are removed when a new one is made. The fixture deletes the namespace, and kills what still runs in
it, whatever the test did.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import random
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PREFIX = "ddp"
_NAME = re.compile(rf"^{PREFIX}(\d+)[a-z]$")
_serial = itertools.count()


def ip(*args: str) -> str:
    """Run ``ip ARGS`` (as root); its stdout, or a RuntimeError with its stderr."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Link:
    """One veth pair: ``host_address`` in this namespace, ``address`` inside the other."""

    name: str
    host_device: str
    device: str
    host_address: str
    address: str


class Namespace:
    """A named network namespace with loopback up and veth links to this namespace."""

    def __init__(self) -> None:
        remove_orphans()
        self.name = f"{PREFIX}{os.getpid()}{'abcdefghijklmnopqrstuvwxyz'[next(_serial) % 26]}"
        self.links: dict[str, Link] = {}
        self._octet = _free_octet()
        ip("netns", "add", self.name)
        ip("-n", self.name, "link", "set", "lo", "up")

    def exec_prefix(self) -> tuple[str, ...]:
        """The argv prefix that runs a command inside the namespace."""
        return ("ip", "netns", "exec", self.name)

    def add_link(self, name: str) -> Link:
        """A new veth pair ``name`` (one letter or two) with its own /30."""
        index = len(self.links)
        base = ipaddress.IPv4Address(f"10.213.{self._octet}.0") + 4 * index
        link = Link(name, f"{self.name}{name}0", f"{self.name}{name}1", str(base + 1), str(base + 2))
        ip("link", "add", link.host_device, "type", "veth", "peer", "name", link.device, "netns", self.name)
        ip("addr", "add", f"{link.host_address}/30", "dev", link.host_device)
        ip("-n", self.name, "addr", "add", f"{link.address}/30", "dev", link.device)
        ip("link", "set", link.host_device, "up")
        ip("-n", self.name, "link", "set", link.device, "up")
        self._pin_neighbours(link)
        self.links[name] = link
        return link

    def cut(self, name: str) -> None:
        """Partition link ``name``: its packets are dropped silently both ways."""
        ip("-n", self.name, "link", "set", self.links[name].device, "down")

    def heal(self, name: str) -> None:
        """End the partition of link ``name``."""
        link = self.links[name]
        ip("-n", self.name, "link", "set", link.device, "up")
        self._pin_neighbours(link)

    def destroy(self) -> None:
        """Kill what still runs inside (only this test's processes can be there) and delete the namespace."""
        delete_namespace(self.name)

    def _pin_neighbours(self, link: Link) -> None:
        """Permanent neighbour entries: with an end down, ARP would fail and report "no route" instead of silence."""
        host_mac = _mac(["ip", "link", "show", link.host_device])
        mac = _mac(["ip", "-n", self.name, "link", "show", link.device])
        ip("neigh", "replace", link.address, "lladdr", mac, "dev", link.host_device, "nud", "permanent")
        ip("-n", self.name, "neigh", "replace", link.host_address, "lladdr", host_mac, "dev", link.device,
           "nud", "permanent")


def delete_namespace(name: str) -> None:
    """Kill the processes inside namespace ``name``, then delete it (its veth pairs go with it)."""
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def remove_orphans() -> None:
    """Delete ``ddp`` namespaces whose test process is gone (a run killed before its teardown)."""
    for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout.splitlines():
        match = _NAME.match(line.split(" ")[0])
        if match and not Path(f"/proc/{match.group(1)}").exists():
            delete_namespace(line.split(" ")[0])


def _free_octet() -> int:
    """A third octet of 10.213.0.0/16 no address of this namespace uses."""
    used = ip("-o", "-4", "addr", "show")
    for octet in random.sample(range(1, 255), 254):
        if f"10.213.{octet}." not in used:
            return octet
    raise RuntimeError("every 10.213.x.0/24 is in use")


def _mac(argv: list[str]) -> str:
    match = re.search(r"link/ether ([0-9a-f:]{17})", subprocess.run(argv, capture_output=True, text=True,
                                                                    check=True).stdout)
    if not match:
        raise RuntimeError(f"{' '.join(argv)} shows no MAC address")
    return match.group(1)


@pytest.fixture(scope="module")
def netns() -> Iterator[Namespace]:
    """A fresh namespace for one test module; deleted afterwards with everything still running in it."""
    namespace = Namespace()
    try:
        yield namespace
    finally:
        namespace.destroy()
