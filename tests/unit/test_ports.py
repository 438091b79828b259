"""``drdrill.ports``: free ports, open ports, and the error that names who holds a port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from drdrill.errors import PortInUseError
from drdrill.ports import ensure_port_free, find_free_port, port_open

pytestmark = pytest.mark.unit


@pytest.fixture
def listener() -> Iterator[int]:
    """A port something listens on, for the length of the test."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_free_port_passes_the_free_check_and_nothing_listens_on_it() -> None:
    port = find_free_port()
    assert 0 < port < 65536
    ensure_port_free(port, "the test")
    assert not port_open(port)


def test_port_open_sees_a_listener_and_no_longer_after_it_closed() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_open(port)
    assert not port_open(port)


def test_a_taken_port_names_the_port_who_wanted_it_and_how_to_find_the_holder(listener: int) -> None:
    with pytest.raises(PortInUseError) as caught:
        ensure_port_free(listener, "the sandbox's S3 server")
    error = caught.value
    assert f"Port {listener} on 127.0.0.1, wanted by the sandbox's S3 server, is already in use" in error.problem
    assert f"ss -ltnp 'sport = :{listener}'" in (error.fix or "")
    assert (error.fix or "").endswith("or choose another port.")


def test_a_taken_port_offers_the_callers_own_fix(listener: int) -> None:
    with pytest.raises(PortInUseError) as caught:
        ensure_port_free(listener, "mariadb", "set DRDRILL_SANDBOX_PORT_BASE")
    assert (caught.value.fix or "").endswith(", or set DRDRILL_SANDBOX_PORT_BASE.")


def test_a_port_bound_but_not_listening_is_taken_too() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        with pytest.raises(PortInUseError):
            ensure_port_free(holder.getsockname()[1], "mariadb")
