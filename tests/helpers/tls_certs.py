"""A self-signed CA and a server certificate for 127.0.0.1, made with Debian's openssl, for TLS test servers."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerCertificates:
    """The files: ``ca`` signed ``server_cert``; ``other_ca`` signed nothing the server shows (a wrong CA)."""

    ca: Path
    server_cert: Path
    server_key: Path
    other_ca: Path

    def server_options(self) -> dict[str, str]:
        """``[mysqld]`` options for a server that speaks TLS with these files and refuses plain TCP logins."""
        return {"ssl_ca": str(self.ca), "ssl_cert": str(self.server_cert), "ssl_key": str(self.server_key),
                "require_secure_transport": "ON"}


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _self_signed_ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}-key.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=drdrill test {name}",
             "-keyout", str(key), "-out", str(cert))
    return cert, key


def make_certificates(directory: Path) -> ServerCertificates:
    """A CA, a server certificate it signed (names 127.0.0.1 and localhost), and an unrelated CA, in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _self_signed_ca(directory, "ca")
    other_ca, _ = _self_signed_ca(directory, "other-ca")
    key, request, cert = directory / "server-key.pem", directory / "server.csr", directory / "server.pem"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(request))
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "2", "-extfile", str(extensions), "-out", str(cert))
    key.chmod(0o644)  # the server may run as another OS user than the test (a worker container's mysql)
    return ServerCertificates(ca=ca, server_cert=cert, server_key=key, other_ca=other_ca)
