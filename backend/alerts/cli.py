"""`pletfri alerts ...`"""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Add the alert commands to the root `pletfri` command."""
