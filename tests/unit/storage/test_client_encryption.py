"""drdrill's client-side stream encryption: it round-trips any length in any chunking, and a wrong key, a changed
byte, a cut, a dropped or a moved chunk each fail loudly with the right error; the key is never shown."""

from __future__ import annotations

import base64
import os

import pytest

from drdrill.storage.client_encryption import (CHUNK_SIZE, HEADER_BYTES, SCHEME, SEALED_CHUNK, ClientKey, DecryptFailed,
    KeyMissing, WrongKey, check_key, decrypt_stream, decrypting, encrypt_stream)

pytestmark = pytest.mark.unit
KEY = ClientKey(os.urandom(32), "Airflow connection 'backup_key'")


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[start:start + size] for start in range(0, len(data), size)] or [b""]


def _encrypted(data: bytes, key: ClientKey = KEY) -> bytes:
    return b"".join(encrypt_stream(_pieces(data, 7777), key))


def _decrypted(sealed: bytes, key: ClientKey = KEY) -> bytes:
    return b"".join(decrypt_stream(_pieces(sealed, 5000), key, "s3://b/dump.sql.zst"))


@pytest.mark.parametrize("length", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 1_000_003])
def test_any_length_round_trips_in_any_chunking(length: int) -> None:
    data = os.urandom(length)
    sealed = _encrypted(data)
    assert len(sealed) == HEADER_BYTES + len(data) + 16 * max(1, -(-length // CHUNK_SIZE))  # a tag per chunk
    assert _decrypted(sealed) == data
    assert _encrypted(data) != sealed  # a fresh salt per object: never the same ciphertext twice


def test_a_wrong_key_is_told_apart_from_damage_at_the_header() -> None:
    sealed = _encrypted(b"rows" * 1000)
    other = ClientKey(os.urandom(32), "Airflow connection 'new_key'")
    with pytest.raises(WrongKey) as caught:
        _decrypted(sealed, other)
    assert caught.value.code == "ENCRYPTION_KEY_WRONG" and "new_key" in str(caught.value)
    with pytest.raises(WrongKey):
        check_key(sealed[:HEADER_BYTES], {"client_side": SCHEME}, other, "s3://b/k")
    check_key(sealed[:HEADER_BYTES], {"client_side": SCHEME}, KEY, "s3://b/k")  # the right key opens it


def test_a_wrong_key_says_whether_the_same_connection_changed_its_key_or_another_made_the_backup() -> None:
    sealed = _encrypted(b"rows" * 1000)
    replaced = ClientKey(os.urandom(32), "Airflow connection 'backup_key'")
    with pytest.raises(WrongKey) as same:
        check_key(sealed[:HEADER_BYTES], {"client_side": SCHEME, "key": replaced.label}, replaced, "s3://b/k")
    assert "(that connection held another key when the backup was made)" in same.value.problem
    with pytest.raises(WrongKey) as other:
        check_key(sealed[:HEADER_BYTES], {"client_side": SCHEME, "key": "Airflow connection 'old_key'"}, replaced,
                  "s3://b/k")
    assert "(it was made with the key from Airflow connection 'old_key')" in other.value.problem


@pytest.mark.parametrize("damage", ["flip a byte", "cut at a chunk boundary", "cut inside a chunk", "drop a chunk",
                                    "swap two chunks", "append a chunk", "not drdrill's"])
def test_damaged_ciphertext_does_not_decrypt(damage: str) -> None:
    sealed = _encrypted(os.urandom(3 * CHUNK_SIZE + 100))
    body = sealed[HEADER_BYTES:]
    chunks = [body[start:start + SEALED_CHUNK] for start in range(0, len(body), SEALED_CHUNK)]
    header = sealed[:HEADER_BYTES]
    broken = {
        "flip a byte": sealed[:-50] + bytes([sealed[-50] ^ 1]) + sealed[-49:],
        "cut at a chunk boundary": header + b"".join(chunks[:2]),
        "cut inside a chunk": sealed[:-10],
        "drop a chunk": header + chunks[0] + chunks[2] + chunks[3],
        "swap two chunks": header + chunks[1] + chunks[0] + chunks[2] + chunks[3],
        "append a chunk": sealed + chunks[1],
        "not drdrill's": b"\x28\xb5\x2f\xfd" + sealed[4:],
    }[damage]
    with pytest.raises(DecryptFailed) as caught:
        _decrypted(broken)
    assert caught.value.code == "DECRYPT_FAILED" and "s3://b/dump.sql.zst" in str(caught.value) and caught.value.fix


def test_an_unencrypted_object_passes_through_and_an_encrypted_one_needs_the_key() -> None:
    assert list(decrypting([b"plain"], {"server_side": "aws:kms"}, None, "k")) == [b"plain"]
    record = KEY.describe()
    assert record == {"client_side": SCHEME, "chunk_size": CHUNK_SIZE, "key": "Airflow connection 'backup_key'"}
    sealed = _encrypted(b"x")
    assert b"".join(decrypting([sealed], record, KEY, "k")) == b"x"
    with pytest.raises(KeyMissing) as caught:
        decrypting([sealed], record, None, "s3://b/k")
    assert caught.value.code == "ENCRYPTION_KEY_MISSING" and "backup_key" in str(caught.value)
    assert "client_side_conn_id" in (caught.value.fix or "")
    with pytest.raises(DecryptFailed, match="does not know"):
        decrypting([sealed], {**record, "client_side": "other-v9"}, KEY, "k")


def test_the_key_is_32_bytes_of_base64_and_never_shown() -> None:
    text = base64.b64encode(b"k" * 32).decode()
    key = ClientKey.from_base64(text + "\n", "Airflow connection 'c'")
    assert key.secret == b"k" * 32 and text not in repr(key) and "kkkk" not in repr(key)
    for bad in ("not base64!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(ValueError) as caught:
            ClientKey.from_base64(bad, "Airflow connection 'c'")
        assert "32 bytes" in str(caught.value) and (not bad or bad not in str(caught.value))
