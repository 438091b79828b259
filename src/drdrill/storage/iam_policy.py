"""drdrill's least-privilege S3 policy (``iam-policy.json``, shipped in the package) for a bucket and prefix.

The file is written for the default ``storage`` (bucket ``drdrill-backups``, prefix ``drdrill``); :func:`iam_policy`
gives it for another bucket and prefix. Its actions are exactly ``drdrill.storage.s3.IAM_ACTIONS``' values and
``OBJECT_LOCK_ACTIONS``; with SSE-KMS (``storage.encryption.server_side: kms``) it also allows the two KMS actions
S3 calls on the caller's behalf (``KMS_ACTIONS``: a data key for each write, decrypting one for each read) on that
key only.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

DEFAULT_BUCKET, DEFAULT_PREFIX = "drdrill-backups", "drdrill"
KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def iam_policy(bucket: str = DEFAULT_BUCKET, prefix: str = DEFAULT_PREFIX, kms_key_arn: str | None = None) -> dict[str, Any]:
    """The policy document, scoped to ``bucket`` and to the keys under ``prefix`` (no prefix: the whole bucket), and
    allowed to use ``kms_key_arn`` (the key ARN of SSE-KMS, when the target uses it)."""
    text = resources.files("drdrill.storage").joinpath("iam-policy.json").read_text()
    text = text.replace(f":::{DEFAULT_BUCKET}", f":::{bucket}")
    scope = f"{prefix}/*" if prefix else "*"
    policy: dict[str, Any] = json.loads(text.replace(f'"{DEFAULT_PREFIX}/*"', f'"{scope}"')
                                        .replace(f"/{DEFAULT_PREFIX}/*", f"/{scope}"))
    if kms_key_arn:
        policy["Statement"].append({"Sid": "UseTheSseKmsKey", "Effect": "Allow", "Action": list(KMS_ACTIONS),
                                    "Resource": kms_key_arn})
    return policy


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m drdrill.storage.iam_policy BUCKET [PREFIX]``: print the policy for them."""
    parser = argparse.ArgumentParser(prog="python -m drdrill.storage.iam_policy", description=__doc__)
    parser.add_argument("bucket")
    parser.add_argument("prefix", nargs="?", default=DEFAULT_PREFIX, help=f"default: {DEFAULT_PREFIX}")
    parser.add_argument("--kms-key-arn", help="the KMS key of storage.encryption (server_side: kms): allow "
                        + " and ".join(KMS_ACTIONS) + " on it")
    args = parser.parse_args(argv)
    print(json.dumps(iam_policy(args.bucket, args.prefix, args.kms_key_arn), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
