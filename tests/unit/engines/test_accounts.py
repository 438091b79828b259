"""``drdrill.engines.accounts``: the accounts object found in a manifest, its two sections replayed around the data,
and a failed replay told without hashes."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.engines import accounts
from drdrill.engines.restore import RestoreFailed
from drdrill.servers.accounts import ACCOUNTS_CREATED, SCRIPT_TRAILER
from drdrill.storage.manifest import ObjectEntry
from tests.helpers.manifests import sample_manifest

HASH = "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9"


@pytest.mark.unit
def test_the_accounts_object_is_found_by_its_role() -> None:
    manifest = sample_manifest()
    assert accounts.accounts_object(manifest) is None
    entry = ObjectEntry(name=accounts.ACCOUNTS_OBJECT, role=accounts.ACCOUNTS_ROLE, size=10, sha256="0" * 64)
    with_accounts = dataclasses.replace(manifest, objects=(*manifest.objects, entry))
    assert accounts.accounts_object(with_accounts) == entry


@pytest.mark.unit
def test_a_failed_replay_is_reported_and_logged_without_the_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = f"CREATE OR REPLACE USER `app`@`%` IDENTIFIED BY PASSWORD '{HASH}';\n-- drdrill accounts completed\n"
    archive = tmp_path / accounts.ACCOUNTS_OBJECT
    subprocess.run(["zstd", "-q", "-o", str(archive)], input=script.encode(), check=True)
    log = tmp_path / "accounts.log"

    def fails(*args: object) -> None:
        log.write_text(f"ERROR 1064 (42000) at line 1: near 'PASSWORD '{HASH}'\n")
        raise RestoreFailed("RESTORE_ERROR", f"Restoring stopped at line 1: near 'PASSWORD '{HASH[:25]}'",
                            evidence={"line": 1, "tail": script[-200:]})

    monkeypatch.setattr(accounts, "load_sql_stream", fails)
    with pytest.raises(RestoreFailed) as failed:
        accounts.restore_accounts(archive, MySQLEndpoint("127.0.0.1", 1, "x", "never-used"), log)
    told = f"{failed.value.problem} {failed.value.fix} {failed.value.evidence} {log.read_text()}"
    assert failed.value.code == "RESTORE_ERROR" and "line 1" in failed.value.problem
    assert HASH[1:10] not in told and "***" in told
    assert failed.value.__suppress_context__  # a traceback does not show the unredacted original


SCRIPT = "\n".join(["-- drdrill: the accounts", "CREATE OR REPLACE USER `app`@`%`;", "GRANT SELECT ON `shop`.* TO `app`@`%`;",
                    ACCOUNTS_CREATED, "GRANT SELECT (`id`) ON `shop`.`orders` TO `app`@`%`;", SCRIPT_TRAILER]) + "\n"


def part_of(archive: Path, part: accounts.ScriptPart) -> subprocess.CompletedProcess[str]:
    return subprocess.run(accounts.script_part_command(archive, part), capture_output=True, text=True, check=False)


@pytest.mark.unit
def test_the_accounts_section_ends_at_its_marker_and_the_object_grants_keep_their_line_numbers(tmp_path: Path) -> None:
    archive = tmp_path / accounts.ACCOUNTS_OBJECT
    subprocess.run(["zstd", "-q", "-o", str(archive)], input=SCRIPT.encode(), check=True)
    lines = SCRIPT.splitlines()
    assert part_of(archive, accounts.ACCOUNTS_SECTION).stdout.splitlines() == lines[:4]
    assert part_of(archive, accounts.OBJECT_GRANTS_SECTION).stdout.splitlines() == ["", "", "", "", *lines[4:]]
    assert part_of(archive, accounts.WHOLE_SCRIPT).stdout == SCRIPT


@pytest.mark.unit
def test_a_cut_off_object_fails_either_section(tmp_path: Path) -> None:
    archive = tmp_path / accounts.ACCOUNTS_OBJECT
    whole = subprocess.run(["zstd", "-q", "-c"], input=SCRIPT.encode(), capture_output=True, check=True).stdout
    archive.write_bytes(whole[:-6])
    for part in (accounts.ACCOUNTS_SECTION, accounts.OBJECT_GRANTS_SECTION):
        assert part_of(archive, part).returncode != 0  # pipefail: zstd's failure is the command's
