"""The tests' TLS files: the library's CA and server certificate, plus an unrelated CA (a wrong CA for a login)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drdrill.servers.certificates import ServerCertificates, make_certificates, self_signed_ca


@dataclass(frozen=True)
class TLSFiles:
    """``server``: what the server shows; ``other_ca`` signed nothing the server shows."""

    server: ServerCertificates
    other_ca: Path

    @property
    def ca(self) -> Path:
        return self.server.ca


def make_test_certificates(directory: Path) -> TLSFiles:
    """The server's files and a wrong CA, in ``directory``."""
    server = make_certificates(directory)
    other_ca, _ = self_signed_ca(directory, "other-ca")
    return TLSFiles(server=server, other_ca=other_ca)
