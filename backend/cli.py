"""The backend's commands: registry, plans, visits, verification, API."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Add the backend's command groups to the root `pletfri` command."""
