"""drdrill's least-privilege S3 policy (``iam-policy.json``, shipped in the package) for a bucket and prefix.

The file is written for the default ``storage`` (bucket ``drdrill-backups``, prefix ``drdrill``); :func:`iam_policy`
gives it for another bucket and prefix. Its actions are exactly ``drdrill.storage.s3.IAM_ACTIONS``' values and
``OBJECT_LOCK_ACTIONS``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

DEFAULT_BUCKET, DEFAULT_PREFIX = "drdrill-backups", "drdrill"


def iam_policy(bucket: str = DEFAULT_BUCKET, prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """The policy document, scoped to ``bucket`` and to the keys under ``prefix`` (no prefix: the whole bucket)."""
    text = resources.files("drdrill.storage").joinpath("iam-policy.json").read_text()
    text = text.replace(f":::{DEFAULT_BUCKET}", f":::{bucket}")
    scope = f"{prefix}/*" if prefix else "*"
    return json.loads(text.replace(f'"{DEFAULT_PREFIX}/*"', f'"{scope}"').replace(f"/{DEFAULT_PREFIX}/*", f"/{scope}"))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m drdrill.storage.iam_policy BUCKET [PREFIX]``: print the policy for them."""
    parser = argparse.ArgumentParser(prog="python -m drdrill.storage.iam_policy", description=__doc__)
    parser.add_argument("bucket")
    parser.add_argument("prefix", nargs="?", default=DEFAULT_PREFIX, help=f"default: {DEFAULT_PREFIX}")
    args = parser.parse_args(argv)
    print(json.dumps(iam_policy(args.bucket, args.prefix), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
