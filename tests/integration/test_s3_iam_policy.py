"""drdrill's shipped least-privilege S3 policy, against a moto server that enforces IAM as AWS does.

A user holding only the policy takes backups (upload, verify, retention deleting the older one), runs a restore
drill and archives binlogs; the policy without s3:DeleteObject makes retention red with a finding naming the
action; a prefix the policy does not name is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from drdrill.config import load_config
from drdrill.drills.archive import steps as archive
from drdrill.storage.iam_policy import iam_policy
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.moto_iam import MotoIam, moto_with_iam

pytestmark = pytest.mark.integration
BUCKET = "drdrill-backups"
DRDRILL = str(Path(sys.executable).parent / "drdrill")


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoIam]:
    with moto_with_iam(tmp_path_factory.mktemp("moto-iam")) as server:
        server.client("s3").create_bucket(Bucket=BUCKET)
        yield server


def for_moto(policy: dict[str, Any]) -> dict[str, Any]:
    """``policy`` plus s3:DeleteObject on the bucket's own ARN: moto authorizes a DeleteObjects request against the
    bucket (AWS checks s3:DeleteObject on each key, which the policy allows under the prefix)."""
    bucket_arn = f"arn:aws:s3:::{BUCKET}"
    return {**policy, "Statement": [*policy["Statement"], {"Sid": "MotoDeleteObjectsQuirk", "Effect": "Allow",
                                                           "Action": ["s3:DeleteObject"], "Resource": bucket_arn}]}


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """``policy`` with ``action`` taken out of every statement (statements left empty dropped)."""
    statements = [{**statement, "Action": [name for name in statement["Action"] if name != action]}
                   for statement in policy["Statement"]]
    return {**policy, "Statement": [statement for statement in statements if statement["Action"]]}


def config_with_prefix(sandbox, directory: Path, prefix: str) -> Path:
    """The test config with the shop target storing under ``prefix`` and keeping only its newest backup."""
    config = yaml.safe_load(sandbox.config_path.read_text())
    config["targets"][0].update(storage={"conn_id": "drdrill_s3", "bucket": BUCKET, "prefix": prefix},
                                retention={"keep_backups": 1, "keep_days": None})
    path = directory / f"drills-{prefix}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def drdrill(config: Path, connection: dict[str, Any], *args: str) -> tuple[int, dict[str, Any], str]:
    """``drdrill ARGS --json`` with the S3 connection given: exit code, its JSON, its stderr."""
    env = {**os.environ, "DRDRILL_CONFIG": str(config), "AIRFLOW_CONN_DRDRILL_S3": json.dumps(connection)}
    done = subprocess.run([DRDRILL, *args, "--json"], capture_output=True, text=True, env=env, timeout=300)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def stored(moto: MotoIam, prefix: str) -> list[str]:
    reply = moto.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
    return [item["Key"] for item in reply.get("Contents", [])]


def backup_ids(moto: MotoIam, prefix: str) -> set[str]:
    return {key.split("/")[3] for key in stored(moto, prefix) if key.startswith(f"{prefix}/shop/full/")}


def test_the_policy_is_enough_for_backups_retention_restore_drills_and_the_binlog_archive(
        sandbox, moto: MotoIam, tmp_path: Path) -> None:
    keys = moto.user("drdrill-iam", for_moto(iam_policy(BUCKET, "iam")))
    config, connection = config_with_prefix(sandbox, tmp_path, "iam"), moto.connection(keys)
    codes, records = [], []
    for _ in range(2):
        code, record, stderr = drdrill(config, connection, "backup", "shop")
        codes.append(code)
        records.append(record)
    assert codes == [0, 0], ([r.get("findings") for r in records], stderr[-2000:])
    assert backup_ids(moto, "iam") == {records[1]["backup_id"]}  # retention deleted the older one

    code, restored, stderr = drdrill(config, connection, "restore", "shop")
    assert (code, restored["verdict"], restored["backup_id"]) == (0, "passed", records[1]["backup_id"]), \
        (restored.get("findings"), stderr[-2000:])

    target, store = load_config(config).target("shop"), S3ObjectStore(moto.client("s3", keys), BUCKET)
    archived = archive.archive(target, sandbox.sandbox.backup_endpoint(), store, work_dir=tmp_path / "archive")
    assert archive.check_chain(target, store)["files"] >= 1, archived


def test_without_s3_delete_object_retention_is_red_with_a_finding_naming_the_action(
        sandbox, moto: MotoIam, tmp_path: Path) -> None:
    keys = moto.user("drdrill-nodelete", without(for_moto(iam_policy(BUCKET, "nodelete")), "s3:DeleteObject"))
    config, connection = config_with_prefix(sandbox, tmp_path, "nodelete"), moto.connection(keys)
    first, _, _ = drdrill(config, connection, "backup", "shop")
    code, record, stderr = drdrill(config, connection, "backup", "shop")
    assert (first, code, record["verdict"]) == (0, 1, "could_not_verify"), record  # red, never green
    (finding,) = record["findings"]
    assert finding["code"] == "STORAGE_UNAVAILABLE"
    assert "S3 refused DeleteObject" in finding["message"] and "need s3:DeleteObject" in finding["message"]
    assert "Allow s3:DeleteObject" in finding["fix"] and "Traceback" not in stderr
    assert len(backup_ids(moto, "nodelete")) == 2  # nothing deleted


def test_the_policy_refuses_a_prefix_it_does_not_name(sandbox, moto: MotoIam, tmp_path: Path) -> None:
    keys = moto.user("drdrill-scoped", for_moto(iam_policy(BUCKET, "scoped")))
    code, record, stderr = drdrill(config_with_prefix(sandbox, tmp_path, "elsewhere"), moto.connection(keys),
                                   "backup", "shop")
    assert (code, record["verdict"]) == (1, "could_not_verify"), record
    finding, *evidence = record["findings"]  # the refused backup, then its evidence bundle, refused too
    assert [item["code"] for item in evidence] in ([], ["EVIDENCE_NOT_STORED"]), record["findings"]
    # moto does not evaluate the s3:prefix condition of s3:ListBucket (AWS does), so the upload is what it refuses.
    assert finding["code"] == "STORAGE_UNAVAILABLE" and "access denied; the connection's credentials need s3:" in \
        finding["message"], finding
    assert "Traceback" not in stderr and stored(moto, "elsewhere") == []
