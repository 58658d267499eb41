"""The `silkroad` command: one group, one module per family of subcommands."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from crawler import __version__
from crawler.cli import (
    archive_cmd,
    browse_cmd,
    crawl_cmd,
    db_cmd,
    demo_cmd,
    export_cmd,
    schedule_cmd,
    search_cmd,
)
from crawler.cli.common import err_console
from crawler.errors import SilkroadError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class SilkroadGroup(click.Group):
    """Turns our errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SilkroadError as exc:
            err_console.print(f"[bold red]Error:[/] {exc}", markup=True, soft_wrap=True)
            sys.exit(2)


@click.group(cls=SilkroadGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="silkroad")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
def cli(verbose: bool) -> None:
    """Silkroad Archive: a searchable archive of news about China–Central Asia relations.

    \b
    Example:
      silkroad demo                 # crawl the bundled offline demo web
      silkroad search 中亚           # then question the archive
    """
    handler = logging.StreamHandler()
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.root.addHandler(handler)
    logging.root.setLevel(logging.INFO if verbose else logging.WARNING)


for module in (
    crawl_cmd, demo_cmd, export_cmd, archive_cmd, db_cmd, schedule_cmd, search_cmd, browse_cmd
):
    module.register(cli)
