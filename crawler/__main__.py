"""`python -m crawler` is `silkroad`."""

from crawler.cli.main import cli

cli(prog_name="silkroad")
