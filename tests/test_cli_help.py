"""Every command explains itself: complete --help with an example."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from crawler.cli.main import COMMANDS, cli

ALL = [[name] for name in sorted(COMMANDS)] + [["db", "upgrade"], []]


@pytest.mark.parametrize("command", ALL, ids=lambda c: " ".join(c) or "silkroad")
def test_help_has_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert "silkroad " in result.output.split("Example:", 1)[1]
    assert "-h, --help" in result.output


def test_short_help_flag() -> None:
    assert CliRunner().invoke(cli, ["search", "-h"]).exit_code == 0


def test_silkroad_alone_prints_its_help_and_succeeds() -> None:
    result = CliRunner().invoke(cli, [], prog_name="silkroad")
    assert result.exit_code == 0, result.output
    assert "Usage: silkroad" in result.output and "Commands:" in result.output
    assert "Error" not in result.output
