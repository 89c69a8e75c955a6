"""The backend's commands: each capability's command groups (its cli.py), collected here
for the one `pletfri` command, and the service's own: `pletfri backend api|openapi|run`."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from backend.alerts import cli as alerts_cli
from backend.broker import cli as broker_cli
from backend.cleaning import cli as cleaning_cli
from backend.cleaning.need import NeedPublishError
from backend.command import running_backend
from backend.people import cli as people_cli
from backend.quality import cli as quality_cli
from backend.registry import cli as registry_cli
from backend.registry.schema import SchemaError
from backend.reports import cli as reports_cli
from backend.service import BackendError
from backend.stickers import cli as stickers_cli
from backend.web import cli as web_cli
from pletfri.command import fail, settings
from pletfri.influx import InfluxError

log = logging.getLogger(__name__)

backend_app = typer.Typer(help="The backend service: API, tokens, the periodic run.",
                          no_args_is_help=True)  # fmt: skip
backend_app.add_typer(people_cli.token_app, name="token")


def backend_api(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Default backend.api_host.")] = None,
    port: Annotated[int | None, typer.Option(help="Default backend.api_port.")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) until Ctrl-C."""
    import uvicorn

    from backend.api import create_app

    s = settings(ctx)
    try:
        app = create_app(s)
    except (BackendError, SchemaError) as e:
        raise fail(str(e)) from None
    uvicorn.run(app, host=host or s.backend.api_host, port=port or s.backend.api_port,
                log_config=None)  # fmt: skip


def backend_openapi(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Where to write the OpenAPI JSON.")] = Path(
        "docs/openapi.json"
    ),
) -> None:
    """Write the API's OpenAPI document (the same as GET /openapi.json)."""
    from backend.api import create_app

    app = create_app(settings(ctx))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(app.openapi(), indent=2) + "\n", encoding="utf-8")
    finally:
        app.state.backend.close()
    typer.echo(f"wrote {out}")


def backend_run(ctx: typer.Context) -> None:
    """Every backend.interval_s: pair visits, plan shifts as they begin, publish need."""
    interval = settings(ctx).backend.interval_s
    with running_backend(ctx) as be:
        previous = int(time.time() * 1000)
        try:
            while True:
                now = int(time.time() * 1000)
                try:
                    be.tick(now, previous)
                    previous = now
                except (InfluxError, NeedPublishError) as e:
                    # Keep `previous`: a shift that began meanwhile is planned on the next round.
                    log.warning("backend round failed, retrying in %d s: %s", interval, e)
                time.sleep(max(0.0, interval - (time.time() * 1000 - now) / 1000))
        except KeyboardInterrupt:
            pass


# The `backend` group's commands, in the order its --help lists them.
backend_app.command("api")(backend_api)
backend_app.command("retention")(people_cli.retention)
backend_app.command("export-person")(people_cli.export_person)
backend_app.command("openapi")(backend_openapi)
backend_app.command("run")(backend_run)


def register(root: typer.Typer) -> None:
    """Add the backend's command groups to the root `pletfri` command."""
    root.add_typer(registry_cli.registry_app, name="registry")
    root.add_typer(backend_app, name="backend")
    root.add_typer(cleaning_cli.visits_app, name="visits")
    root.add_typer(cleaning_cli.need_app, name="need")
    root.add_typer(reports_cli.report_app, name="report")
    root.command("plan")(cleaning_cli.plan)
    root.command("verify")(cleaning_cli.verify)
    root.command("savings")(cleaning_cli.savings)
    root.add_typer(quality_cli.quality_app, name="quality")
    root.add_typer(people_cli.site_key_app, name="site-key")
    alerts_cli.register(root)
    stickers_cli.register(root)
    broker_cli.register(root)
    web_cli.register(root)
