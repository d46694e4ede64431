"""`python -m archive …` runs the command line, as the `archive` script does."""

from archive.cli import cli

cli(prog_name="archive")
