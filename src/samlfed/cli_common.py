"""What every `samlfed` sub-command shares: exit codes and the usage-error exit."""

from __future__ import annotations

import typer
from rich.console import Console

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def usage_error(message: str) -> typer.Exit:
    """Print `message` to stderr and return the exit to raise (code 2)."""
    Console(stderr=True, soft_wrap=True).print(f"samlfed: {message}", highlight=False, markup=False)
    return typer.Exit(EXIT_USAGE)
