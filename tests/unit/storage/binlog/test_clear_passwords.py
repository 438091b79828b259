"""Account statements with a clear-text password in decoded binlog text: found with their position, hashes quiet."""

from __future__ import annotations

import pytest

from drdrill.storage.binlog.clear_passwords import MAX_STATEMENT, ClearPassword, ClearPasswordScanner, clear_password_warning

pytestmark = pytest.mark.unit

HEADER = b"#261207 18:17:16 server id 1  end_log_pos 488 CRC32 0x500083ef \tQuery\tthread_id=5\n"


def scan(*statements: bytes) -> list[ClearPassword]:
    """The scanner's findings over one Query event per statement, at positions 100, 200, ..."""
    scanner = ClearPasswordScanner()
    for number, statement in enumerate(statements, start=1):
        for line in [b"# at %d\n" % (number * 100), HEADER, b"SET TIMESTAMP=1796667436/*!*/;\n",
                     *statement.splitlines(keepends=True), b"/*!*/;\n"]:
            scanner.feed(line)
    return scanner.finish()


def test_each_clear_text_form_is_found_with_its_event_position_and_kind() -> None:
    found = scan(b"CREATE USER 'a'@'%' IDENTIFIED BY 'Plain-1'\n",
                 b"create or replace user 'a'@'%' identified by \"Plain-2\"\n",
                 b"ALTER USER 'a'@'%'\n  IDENTIFIED BY 'Plain-3'\n",
                 b"GRANT SELECT ON *.* TO 'a'@'%' IDENTIFIED BY 'Plain-4'\n",
                 b"CREATE USER 'b'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('Plain-5')\n")
    assert found == [ClearPassword(100, "CREATE USER"), ClearPassword(200, "CREATE USER"),
                     ClearPassword(300, "ALTER USER"), ClearPassword(400, "GRANT"), ClearPassword(500, "CREATE USER")]
    assert "Plain" not in repr(found)


def test_hashed_passwords_other_statements_and_data_are_quiet() -> None:
    assert scan(b"CREATE OR REPLACE USER 'a'@'%' IDENTIFIED BY PASSWORD '*E6CC90B878B948C35E92B003C792C46C58C4AF40'\n",
                b"ALTER USER 'a'@'%' IDENTIFIED VIA mysql_native_password USING '*E6CC90B878B948C35E92B003C792C46C58C4AF40'\n",
                b"SET PASSWORD FOR 'a'@'%'='*E6CC90B878B948C35E92B003C792C46C58C4AF40'\n",
                b"GRANT SELECT ON shop.* TO 'a'@'%'\n",
                b"INSERT INTO notes VALUES ('GRANT x IDENTIFIED BY ''y''')\n") == []
    scanner = ClearPasswordScanner()
    for line in [b"# at 4\n", b"#Q> CREATE USER 'a'@'%' IDENTIFIED BY 'Plain'\n"]:  # annotations are not statements
        scanner.feed(line)
    assert scanner.finish() == []


def test_a_statement_cut_off_by_the_end_of_the_output_still_counts() -> None:
    scanner = ClearPasswordScanner()
    for line in [b"# at 328\n", HEADER, b"CREATE USER 'a'@'%' IDENTIFIED BY 'Plain'\n"]:
        scanner.feed(line)
    assert scanner.finish() == [ClearPassword(328, "CREATE USER")]


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_output_cut_into_chunks_anywhere_finds_the_same_statements(size: int) -> None:
    lines = [b"# at 100\n", HEADER, b"SET TIMESTAMP=1796667436/*!*/;\n", b"INSERT INTO t VALUES ('x')\n/*!*/;\n",
             b"# at 200\n", HEADER, b"ALTER USER 'a'@'%'\n", b"  IDENTIFIED BY 'Plain'\n", b"/*!*/;\n",
             b"# at 300\n", HEADER, b"GRANT SELECT ON shop.* TO 'a'@'%' IDENTIFIED BY 'Plain'"]  # no newline at the end
    output = b"".join(lines)
    scanner = ClearPasswordScanner()
    for start in range(0, len(output), size):
        scanner.feed_output(output[start:start + size])
    assert scanner.finish() == [ClearPassword(200, "ALTER USER"), ClearPassword(300, "GRANT")]


def test_a_line_longer_than_a_statement_is_read_that_far_and_the_next_lines_still_count() -> None:
    scanner = ClearPasswordScanner()
    scanner.feed_output(b"# at 100\n" + b"x" * (MAX_STATEMENT * 3))
    scanner.feed_output(b"y" * MAX_STATEMENT + b"\n# at 200\nCREATE USER 'a'@'%' IDENTIFIED BY 'Plain'\n/*!*/;\n")
    assert scanner.finish() == [ClearPassword(200, "CREATE USER")]


def test_the_warning_names_the_place_and_positions_and_never_the_text() -> None:
    warning = clear_password_warning("Backup b1's catch-up segment catchup.sql.zst", "the backup",
                                     [ClearPassword(200, "ALTER USER")], {"backup_id": "b1"})
    assert (warning.code, warning.verdict) == ("SECRET_IN_BINLOG", "passed")
    assert warning.message.startswith("Backup b1's catch-up segment catchup.sql.zst holds 1 account statement(s) "
                                      "with a clear-text password: ALTER USER at position 200. Whoever can read the "
                                      "backup")
    assert warning.evidence == {"backup_id": "b1", "statements": [{"position": 200, "statement": "ALTER USER"}]}
