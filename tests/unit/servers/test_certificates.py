"""``drdrill.servers.certificates``: the CA and server certificate a local TLS server (the sandbox's) shows, checked
with openssl itself; starting a server with them is in ``tests/system/test_tls_sandbox.py``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from drdrill.errors import DrdrillError
from drdrill.servers.certificates import certificates_in, make_certificates, self_signed_ca

pytestmark = pytest.mark.unit


def _verify(ca: Path, cert: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "verify", "-CAfile", str(ca), "-verify_ip", "127.0.0.1", str(cert)],
                          capture_output=True, text=True)


def test_the_server_certificate_verifies_against_its_ca_for_127_0_0_1_and_not_against_another(tmp_path: Path) -> None:
    files = make_certificates(tmp_path / "tls")
    assert files == certificates_in(tmp_path / "tls") and files.exist()
    assert _verify(files.ca, files.server_cert).returncode == 0, _verify(files.ca, files.server_cert).stderr
    other, other_key = self_signed_ca(tmp_path / "other", "other-ca")
    assert _verify(other, files.server_cert).returncode != 0
    assert other_key.stat().st_mode & 0o777 == 0o600  # a CA key is nobody else's
    assert files.server_options() == {"ssl_ca": str(files.ca), "ssl_cert": str(files.server_cert),
                                      "ssl_key": str(files.server_key), "require_secure_transport": "ON"}


def test_missing_files_do_not_exist_and_a_missing_openssl_is_named(tmp_path: Path, monkeypatch) -> None:
    assert not certificates_in(tmp_path).exist()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DrdrillError, match="openssl is not installed") as caught:
        make_certificates(tmp_path / "tls")
    assert "openssl" in (caught.value.fix or "")
