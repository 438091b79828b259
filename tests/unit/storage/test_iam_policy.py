"""The shipped S3 policy allows exactly the actions drdrill's S3 calls need, on the bucket and prefix only."""

from __future__ import annotations

import json

import pytest

from drdrill.storage.iam_policy import iam_policy, main
from drdrill.storage.s3 import IAM_ACTIONS, OBJECT_LOCK_ACTIONS

pytestmark = pytest.mark.unit


def test_the_policy_allows_exactly_what_the_store_calls_need_and_no_wildcard() -> None:
    policy = iam_policy()
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert actions == set(IAM_ACTIONS.values()) | set(OBJECT_LOCK_ACTIONS)
    assert all("*" not in action for action in actions)
    assert {statement["Effect"] for statement in policy["Statement"]} == {"Allow"}


def test_the_policy_is_scoped_to_the_bucket_and_prefix_it_is_made_for() -> None:
    statements = {statement["Sid"]: statement for statement in iam_policy("shop-dr", "prod/db")["Statement"]}
    assert statements["ListTheBackupsUnderThePrefix"]["Resource"] == "arn:aws:s3:::shop-dr"
    assert statements["ListTheBackupsUnderThePrefix"]["Condition"] == {"StringLike": {"s3:prefix": ["prod/db/*"]}}
    assert statements["ReadWriteDeleteAndAbortUnderThePrefix"]["Resource"] == "arn:aws:s3:::shop-dr/prod/db/*"
    assert statements["FindUnfinishedUploads"]["Resource"] == "arn:aws:s3:::shop-dr"
    assert statements["ReadTheBucketsObjectLockSetting"]["Resource"] == "arn:aws:s3:::shop-dr"
    assert iam_policy("b", "")["Statement"][3]["Resource"] == "arn:aws:s3:::b/*"


def test_the_module_prints_the_policy_for_a_bucket_and_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shop-dr", "prod"]) == 0
    assert json.loads(capsys.readouterr().out) == iam_policy("shop-dr", "prod")


def test_with_sse_kms_the_policy_may_use_that_key_only_and_without_it_no_kms_at_all(
        capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    statements = iam_policy("shop-dr", "prod", kms_key_arn=arn)["Statement"]
    assert statements[:-1] == iam_policy("shop-dr", "prod")["Statement"]
    assert statements[-1] == {"Sid": "UseTheSseKmsKey", "Effect": "Allow",
                              "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": arn}
    assert not any(action.startswith("kms:") for statement in iam_policy()["Statement"] for action in statement["Action"])
    assert main(["shop-dr", "prod", "--kms-key-arn", arn]) == 0
    assert json.loads(capsys.readouterr().out)["Statement"][-1]["Resource"] == arn
