"""`pletfri dashboards ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from dashboards.files import JSON_DIR, read_all, write_all
from dashboards.push import PushError, push
from pletfri.command import fail

app = typer.Typer(help="Grafana dashboards as code.", no_args_is_help=True)


@app.command("build")
def build() -> None:
    """Regenerate dashboards/json/*.json from dashboards/definitions.py."""
    for path in write_all():
        typer.echo(f"wrote {path}")


@app.command("push")
def push_cmd(
    url: Annotated[str, typer.Option(help="Grafana's base URL, e.g. http://grafana:3000.")],
    token: Annotated[
        str | None,
        typer.Option(envvar="GRAFANA_TOKEN", help="A service account token (or $GRAFANA_TOKEN)."),
    ] = None,
) -> None:
    """Create or update every dashboard in an existing Grafana, in the folder 'Pletfri'."""
    dashboards = read_all()
    if not dashboards:
        raise fail(f"no dashboards in {JSON_DIR}; run `pletfri dashboards build` first")
    try:
        for uid in push(url, token, dashboards):
            typer.echo(f"pushed {uid}")
    except PushError as e:
        raise fail(str(e)) from None


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dashboards")
