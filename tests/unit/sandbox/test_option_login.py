"""``drdrill.sandbox.option_login``: the login comes from the option file; the command line may move host and port."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from drdrill.sandbox.option_login import add_login_options, login_endpoint

pytestmark = pytest.mark.unit


def parse(*argv: str) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="tool")
    add_login_options(parser)
    return parser, parser.parse_args(argv)


def test_host_and_port_from_the_command_line_win_over_the_option_file(tmp_path: Path) -> None:
    option_file = tmp_path / "login.cnf"
    option_file.write_text("[client]\nuser=shop_app\npassword=Secret-7\nhost=10.0.0.9\nport=3307\n")
    assert login_endpoint(*parse("--defaults-file", str(option_file))).describe() == "shop_app@10.0.0.9:3307"
    moved = login_endpoint(*parse("--defaults-file", str(option_file), "--host", "mariadb-primary", "--port", "3306"))
    assert (moved.describe(), moved.password) == ("shop_app@mariadb-primary:3306", "Secret-7")


def test_an_option_file_without_a_user_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    option_file = tmp_path / "login.cnf"
    option_file.write_text("[client]\npassword=Secret-7\n")
    with pytest.raises(SystemExit) as caught:
        login_endpoint(*parse("--defaults-file", str(option_file)))
    err = capsys.readouterr().err
    assert caught.value.code == 2 and "has no user in [client]. Fix: add user=NAME." in err and "Secret-7" not in err
