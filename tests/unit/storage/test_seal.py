"""A record's seal: the digest covers exactly its content (not its layout), the signature needs the key."""

from __future__ import annotations

import json

import pytest

from drdrill.storage.seal import SealBroken, SigningKey, canonical_bytes, check_seal, sealed

pytestmark = pytest.mark.unit

KEY = SigningKey(b"s" * 32, source="Airflow connection 'key'")
RECORD = {"b": [1, 2, {"z": "é"}], "a": True, "n": None}


def test_the_canonical_bytes_ignore_key_order_layout_and_the_seal_itself() -> None:
    reordered = json.loads(json.dumps(dict(reversed(list(RECORD.items()))), indent=4))
    assert canonical_bytes(reordered) == canonical_bytes(RECORD) == canonical_bytes(sealed(RECORD, KEY))
    assert canonical_bytes(RECORD) == b'{"a":true,"b":[1,2,{"z":"\\u00e9"}],"n":null}'


def test_a_sealed_record_checks_and_reports_whether_a_signature_was_checked() -> None:
    assert check_seal(sealed(RECORD, None), None) is False
    assert check_seal(sealed(RECORD, KEY), KEY) is True
    assert check_seal(sealed(RECORD, KEY), None) is False
    assert check_seal(RECORD, None) is False  # no digest: whether that is allowed is the format's decision


@pytest.mark.parametrize(("record", "key", "part", "says"), [
    ({**sealed(RECORD, None), "a": False}, None, "digest", "does not match its content"),
    ({**sealed(RECORD, KEY), "a": False}, KEY, "digest", "does not match its content"),
    (sealed(RECORD, None), KEY, "signature", "has no signature"),
    (sealed(RECORD, SigningKey(b"t" * 32)), KEY, "signature", "does not match the signing key from Airflow connection 'key'"),
])
def test_a_broken_seal_names_the_check_that_failed(record, key, part, says) -> None:
    with pytest.raises(SealBroken, match=says) as raised:
        check_seal(record, key)
    assert raised.value.part == part


def test_sealing_again_replaces_the_old_seal() -> None:
    signed = sealed(RECORD, KEY)
    assert "signature" not in sealed(signed, None) and check_seal(sealed({**signed, "a": False}, KEY), KEY)
