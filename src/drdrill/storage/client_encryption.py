"""drdrill's own encryption of backup objects before they leave the worker, for users who do not trust the store.

An authenticated stream in the shape of age's STREAM (C2SP age, "payload"): a header (magic, a random 16-byte
salt, and an HMAC of both under a key derived from the master key, so a wrong key is told apart from damage),
then the data in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under a per-object key (HKDF-SHA256 of the
master key and the salt) and a nonce of the chunk's number and a last-chunk flag. A chunk altered, dropped,
repeated or moved fails its tag; a stream cut at a chunk boundary fails because its last chunk lacks the flag.
Both directions stream: memory holds a chunk or two, never the object.

The key is 32 random bytes, given base64 as an Airflow connection's password; it is resolved at the edge
(``drdrill.airflow.connections.client_key``) and never written anywhere: the manifest records the scheme, the
chunk size and where the key comes from (``ClientKey.label``), not the key or anything derived from it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from drdrill.errors import DrdrillError

SCHEME = "drdrill-stream-v1"  # ChaCha20-Poly1305 STREAM, HKDF-SHA256 per-object key
MAGIC = b"drdrill-stream-v1\n"
CHUNK_SIZE = 64 * 1024
KEY_BYTES = 32
_SALT_BYTES = 16
_MAC_BYTES = 32
_TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + _SALT_BYTES + _MAC_BYTES
SEALED_CHUNK = CHUNK_SIZE + _TAG_BYTES


class DecryptFailed(DrdrillError):
    """An object could not be decrypted: a wrong key, or bytes changed or cut after it was written."""

    code = "DECRYPT_FAILED"


class WrongKey(DecryptFailed):
    """An object's header shows it was encrypted with another key than the one given (or the header was altered)."""

    code = "ENCRYPTION_KEY_WRONG"


class KeyMissing(DrdrillError):
    """An object is client-side encrypted and no key was given to read it."""

    code = "ENCRYPTION_KEY_MISSING"


# The findings that say the key given is not the backup's: nothing about the backup itself, so it is never
# quarantined for them (like a wrong signing key), and an older backup, encrypted alike, is no way out.
KEY_CODES = frozenset({WrongKey.code, KeyMissing.code})


@dataclass(frozen=True)
class ClientKey:
    """The master key of a target's client-side encryption (never shown) and where it comes from (``label``)."""

    secret: bytes = field(repr=False)
    label: str

    @classmethod
    def from_base64(cls, text: str, label: str) -> ClientKey:
        """The key from its base64 form; ValueError naming ``label`` (never the text) when it is not 32 bytes."""
        try:
            secret = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            secret = b""
        if len(secret) != KEY_BYTES:
            raise ValueError(f"{label} does not hold a base64 key of {KEY_BYTES} bytes")
        return cls(secret, label)

    def describe(self) -> dict[str, str | int]:
        """How an object was encrypted with this key, for the manifest: scheme, chunk size, the key's source."""
        return {"client_side": SCHEME, "chunk_size": CHUNK_SIZE, "key": self.label}


def _keys(key: ClientKey, salt: bytes) -> tuple[ChaCha20Poly1305, bytes]:
    derived = HKDF(algorithm=hashes.SHA256(), length=2 * KEY_BYTES, salt=salt, info=MAGIC).derive(key.secret)
    return ChaCha20Poly1305(derived[:KEY_BYTES]), derived[KEY_BYTES:]


def _nonce(number: int, last: bool) -> bytes:
    return number.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _header_mac(mac_key: bytes, salt: bytes) -> bytes:
    return hmac.new(mac_key, MAGIC + salt, hashlib.sha256).digest()


def encrypt_stream(chunks: Iterable[bytes], key: ClientKey) -> Iterator[bytes]:
    """The encrypted form of a stream of arbitrary chunks: the header, then each sealed 64 KiB chunk."""
    salt = os.urandom(_SALT_BYTES)
    cipher, mac_key = _keys(key, salt)
    yield MAGIC + salt + _header_mac(mac_key, salt)
    yield from _sealed(chunks, CHUNK_SIZE, lambda number, body, last: cipher.encrypt(_nonce(number, last), body, None))


def decrypting(chunks: Iterable[bytes], encryption: Mapping[str, object], key: ClientKey | None,
               where: str) -> Iterable[bytes]:
    """The plaintext of a stored object's bytes as its record says it was encrypted (``encryption``: the manifest's
    or index entry's): the bytes themselves without client-side encryption; KeyMissing without ``key``."""
    if not encryption.get("client_side"):
        return chunks
    _check_usable(encryption, key, where)
    assert key is not None
    return decrypt_stream(chunks, key, where, made_with=str(encryption.get("key", "")))


def check_key(first_bytes: bytes, encryption: Mapping[str, object], key: ClientKey | None, where: str) -> None:
    """Check, from an object's first bytes (its header) alone, that ``key`` opens it: KeyMissing or DecryptFailed."""
    if encryption.get("client_side"):
        _check_usable(encryption, key, where)
        assert key is not None
        _open_header(first_bytes, key, where, str(encryption.get("key", "")))


def _check_usable(encryption: Mapping[str, object], key: ClientKey | None, where: str) -> None:
    source = encryption.get("key", "a key drdrill was not told about")
    if encryption.get("client_side") != SCHEME:
        raise DecryptFailed(f"{where} is encrypted with {encryption.get('client_side')!r}, which this drdrill does not "
                            f"know (it reads {SCHEME}).", "Restore it with the drdrill version that wrote it.")
    if key is None:
        raise KeyMissing(f"{where} was encrypted by drdrill ({SCHEME}) with the key from {source}, and the target "
                         "names no key to decrypt it (storage.encryption.client_side_conn_id is null).",
                         f"Set storage.encryption.client_side_conn_id to the connection that holds that key ({source}), "
                         "then re-run the drill.")


def decrypt_stream(chunks: Iterable[bytes], key: ClientKey, where: str, made_with: str = "") -> Iterator[bytes]:
    """The plaintext of an encrypted stream, chunk by chunk; DecryptFailed (naming ``where``) at the first byte that
    does not authenticate: a wrong key at the header (WrongKey; ``made_with``: where the record says the key came
    from), an altered, reordered or cut stream at its chunk."""
    stream = iter(chunks)
    header = bytearray()
    for chunk in stream:
        header += chunk
        if len(header) >= HEADER_BYTES:
            break
    cipher = _open_header(bytes(header), key, where, made_with)

    def open_chunk(number: int, body: memoryview | bytes, last: bool) -> bytes:
        try:
            return cipher.decrypt(_nonce(number, last), body, None)
        except InvalidTag:
            raise DecryptFailed(f"{where}: encrypted chunk {number} does not authenticate"
                                + (" as the last one: the object was cut short" if last else "")
                                + "; its bytes were changed, reordered or truncated after the backup wrote them.",
                                "Do not restore from it; take a new backup (and find what altered the store).") from None

    body = itertools.chain([bytes(header[HEADER_BYTES:])], stream)
    yield from _sealed(body, SEALED_CHUNK, open_chunk, minimum_last=_TAG_BYTES, where=where)


def _open_header(header: bytes, key: ClientKey, where: str, made_with: str) -> ChaCha20Poly1305:
    """The object's cipher, once its header shows ``key`` is the one it was encrypted with; DecryptFailed otherwise."""
    if len(header) < HEADER_BYTES or not header.startswith(MAGIC):
        raise DecryptFailed(f"{where} is not a drdrill-encrypted object ({SCHEME}): its header is missing or damaged.",
                            "The object was replaced or truncated after the backup wrote it; take a new backup.")
    salt = header[len(MAGIC):len(MAGIC) + _SALT_BYTES]
    cipher, mac_key = _keys(key, salt)
    if not hmac.compare_digest(_header_mac(mac_key, salt), header[len(MAGIC) + _SALT_BYTES:HEADER_BYTES]):
        made = (" (that connection held another key when the backup was made)" if made_with == key.label
                else f" (it was made with the key from {made_with})" if made_with else "")
        raise WrongKey(f"{where} does not open with the key from {key.label}: it was encrypted with another key{made} "
                       "or its header was altered.",
                       f"Put the key the backup was made with into {key.label} (a rotated key must stay readable until "
                       "the backups made with it expire), then re-run the drill.")
    return cipher


def _sealed(chunks: Iterable[bytes], size: int, transform: Callable[[int, memoryview | bytes, bool], bytes], minimum_last: int = 0,
            where: str = "") -> Iterator[bytes]:
    """``transform(number, piece, last)`` of each ``size``-byte piece of the stream, the last (maybe shorter, maybe
    empty) flagged: a piece is known not to be the last only once a byte after it has arrived."""
    pending = bytearray()
    number = 0
    for chunk in chunks:
        pending += chunk
        start = 0
        with memoryview(pending) as view:  # no copy of the pieces; released before the buffer is cut
            while len(pending) - start > size:
                yield transform(number, view[start:start + size], False)
                number += 1
                start += size
        del pending[:start]
    if len(pending) < minimum_last:
        raise DecryptFailed(f"{where}: the encrypted stream ends inside chunk {number}: the object was cut short.",
                            "Do not restore from it; take a new backup.")
    yield transform(number, bytes(pending), True)
