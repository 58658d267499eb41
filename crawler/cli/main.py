"""The `silkroad` command: one group, one module per family of subcommands."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click
from rich.markup import escape

from crawler import __version__
from crawler.cli.common import close_archives, err_console
from crawler.errors import SilkroadError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Command name -> "module:attribute". Imported only when used: a search should not
# pay for loading Scrapy, trafilatura and the near-duplicate machinery.
COMMANDS = {
    "crawl": "crawler.cli.crawl_cmd:crawl",
    "demo": "crawler.cli.demo_cmd:demo",
    "search": "crawler.cli.search_cmd:search",
    "show": "crawler.cli.search_cmd:show",
    "export": "crawler.cli.export_cmd:export",
    "stats": "crawler.cli.search_cmd:stats",
    "report": "crawler.cli.report_cmd:report",
    "runs": "crawler.cli.schedule_cmd:runs",
    "health": "crawler.cli.schedule_cmd:health",
    "schedule": "crawler.cli.schedule_cmd:schedule",
    "browse": "crawler.cli.browse_cmd:browse",
    "import-warc": "crawler.cli.archive_cmd:import_warc",
    "reprocess": "crawler.cli.archive_cmd:reprocess",
    "db": "crawler.cli.db_cmd:db_group",
    "worker": "crawler.cli.worker_cmd:worker",
}


class SilkroadGroup(click.Group):
    """Loads subcommands lazily; turns our errors into one line on stderr and exit status 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Click's usage errors in one line too, like ours (Click prints three)."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "silkroad"
            err_console.print(f"[bold red]Error:[/] {escape(exc.format_message())} "
                              f"(see '{escape(command)} --help')", soft_wrap=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            err_console.print("Aborted.")
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SilkroadError as exc:
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)
            sys.exit(2)
        finally:
            close_archives()


@click.group(cls=SilkroadGroup, context_settings=CONTEXT_SETTINGS,
             invoke_without_command=True)
@click.version_option(__version__, prog_name="silkroad")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
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
    if ctx.invoked_subcommand is None:  # `silkroad` alone: its help, which is no mistake
        click.echo(ctx.get_help())
