"""A self-signed CA and a server certificate for 127.0.0.1, made with openssl, for local servers that speak TLS
(the sandbox's ``--tls``, the tests' TLS servers)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from drdrill.errors import DrdrillError

DAYS = 3650  # a sandbox lives as long as its directory: the certificates must not be what ends it


@dataclass(frozen=True)
class ServerCertificates:
    """The files: ``ca`` signed ``server_cert``, whose key is ``server_key``."""

    ca: Path
    server_cert: Path
    server_key: Path

    def server_options(self) -> dict[str, str]:
        """``[mysqld]`` options for a server that speaks TLS with these files and refuses plain TCP logins."""
        return {"ssl_ca": str(self.ca), "ssl_cert": str(self.server_cert), "ssl_key": str(self.server_key),
                "require_secure_transport": "ON"}

    def exist(self) -> bool:
        """True when all three files are there (made by an earlier ``make_certificates``)."""
        return all(path.is_file() for path in (self.ca, self.server_cert, self.server_key))


def certificates_in(directory: Path) -> ServerCertificates:
    """Where ``make_certificates(directory)`` puts its files."""
    return ServerCertificates(ca=directory / "ca.pem", server_cert=directory / "server.pem",
                              server_key=directory / "server-key.pem")


def _openssl(*args: str) -> None:
    try:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DrdrillError("openssl is not installed (needed to make the TLS certificates).",
                           "Install the Debian package openssl.") from None
    if done.returncode != 0:
        raise DrdrillError(f"openssl {args[0]} exited with {done.returncode}: {done.stderr.strip()[-500:]}",
                           "Read openssl's message above.")


def self_signed_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A new CA in ``directory``: its certificate ``<name>.pem`` and key ``<name>-key.pem``."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}-key.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(DAYS), "-subj", f"/CN=drdrill {name}",
             "-keyout", str(key), "-out", str(cert))
    key.chmod(0o600)
    return cert, key


def make_certificates(directory: Path) -> ServerCertificates:
    """A CA and a server certificate it signed (naming 127.0.0.1 and localhost), in ``directory``."""
    files = certificates_in(directory)
    ca, ca_key = self_signed_ca(directory, "ca")
    request, extensions = directory / "server.csr", directory / "server.ext"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(files.server_key),
             "-out", str(request))
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", str(DAYS), "-extfile", str(extensions), "-out", str(files.server_cert))
    files.server_key.chmod(0o644)  # the server may run as another OS user (a worker container's mysql)
    return files
