"""A metadata record's seal: a sha256 digest of its canonical JSON, and optionally an HMAC-SHA256 signature of it.

The canonical form is the record's JSON object without its ``digest`` and ``signature`` keys, serialized with
sorted keys, no whitespace and ASCII escapes, so a reader recomputes exactly the bytes the writer sealed from
what it parsed (pretty-printing does not matter, any changed value does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from drdrill.errors import DrdrillError

DIGEST_KEY = "digest"
SIGNATURE_KEY = "signature"
DIGEST_PREFIX = "sha256:"
SIGNATURE_PREFIX = "hmac-sha256:"
MIN_KEY_LENGTH = 32  # bytes: an HMAC-SHA256 key shorter than this is easier to guess than the hash is to break


class SealBroken(DrdrillError):
    """A record's digest or signature does not match its content: it was changed after it was written."""

    def __init__(self, part: str, problem: str) -> None:
        self.part = part  # DIGEST_KEY or SIGNATURE_KEY: which check failed
        super().__init__(problem)


@dataclass(frozen=True)
class SigningKey:
    """The secret an HMAC signature is made with; its repr never shows it."""

    secret: bytes = field(repr=False)
    source: str = "its connection"  # for messages: ``Airflow connection 'shop_manifest_key'``

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_LENGTH:
            raise DrdrillError(f"The manifest signing key from {self.source} is {len(self.secret)} "
                               f"bytes long; at least {MIN_KEY_LENGTH} are needed.",
                               "Set the connection's password to a longer random key, e.g. the output of "
                               "`openssl rand -base64 48`.")

    def sign(self, data: bytes) -> str:
        """``hmac-sha256:<hex>`` of ``data``."""
        return SIGNATURE_PREFIX + hmac.new(self.secret, data, hashlib.sha256).hexdigest()


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes a seal covers: the record without its seal, as sorted, compact, ASCII JSON."""
    unsealed = {key: value for key, value in record.items() if key not in (DIGEST_KEY, SIGNATURE_KEY)}
    return json.dumps(unsealed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _digest(body: bytes) -> str:
    return DIGEST_PREFIX + hashlib.sha256(body).hexdigest()


def sealed(record: dict[str, Any], signing_key: SigningKey | None) -> dict[str, Any]:
    """The record with its digest and, given a key, its signature (any old seal replaced)."""
    body = canonical_bytes(record)
    unsealed = {key: value for key, value in record.items() if key not in (DIGEST_KEY, SIGNATURE_KEY)}
    signature = {SIGNATURE_KEY: signing_key.sign(body)} if signing_key is not None else {}
    return {**unsealed, DIGEST_KEY: _digest(body), **signature}


def check_seal(record: dict[str, Any], signing_key: SigningKey | None) -> bool:
    """Raise SealBroken unless the digest matches (and, given a key, the signature); True when a signature was checked.

    A record with no digest passes here (the caller decides whether its format must have one). With a key, a
    missing signature is broken: whoever edits a record can drop its signature as easily as change it.
    """
    body = canonical_bytes(record)
    written = record.get(DIGEST_KEY)
    if written is not None and not hmac.compare_digest(str(written), _digest(body)):
        raise SealBroken(DIGEST_KEY, "its digest does not match its content: it was changed after it was written")
    if signing_key is None:
        return False
    signature = record.get(SIGNATURE_KEY)
    if signature is None:
        raise SealBroken(SIGNATURE_KEY, f"it has no signature, but it is read with the signing key from "
                         f"{signing_key.source}: it was written without the key, or its signature was removed")
    if not hmac.compare_digest(str(signature), signing_key.sign(body)):
        raise SealBroken(SIGNATURE_KEY, f"its signature does not match the signing key from {signing_key.source}: "
                         "it was changed after it was signed, or signed with another key")
    return True
