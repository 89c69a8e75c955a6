"""`pletfri demo`"""

from __future__ import annotations

import typer

from pletfri.command import settings
from sim.demo import run_demo


def demo(ctx: typer.Context) -> None:
    """Run the whole system on this machine against a simulated municipality."""
    run_demo(settings(ctx))


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
