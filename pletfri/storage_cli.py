"""`pletfri storage ...`: retention policies and rollups in InfluxDB (pletfri/storage.py)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from pletfri import storage
from pletfri.command import fail, settings
from pletfri.influx import Influx, InfluxError

app = typer.Typer(
    help="Retention policies and rollups: raw, hourly per room, daily per building.",
    no_args_is_help=True,
)


@app.command("setup")
def setup_cmd(ctx: typer.Context) -> None:
    """Create or update the retention policies, continuous queries and the dashboards'
    policy table (idempotent: run it on every install and after changing the storage
    settings)."""
    s = settings(ctx)
    with Influx(s.influx) as influx:
        try:
            for done in storage.setup(influx, s.storage, s.backend.timezone):
                typer.echo(done)
        except (storage.StorageError, InfluxError) as e:
            raise fail(str(e)) from None


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a day YYYY-MM-DD, e.g. 2026-01-31") from None


@app.command("backfill")
def backfill_cmd(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(help="First local day YYYY-MM-DD (default: the oldest raw point)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last local day YYYY-MM-DD, inclusive (default: today).")
    ] = None,
) -> None:
    """Roll up raw points the continuous queries did not see: points written before
    `storage setup`, or that arrived later than storage.late_hours."""
    s = settings(ctx)
    zone = ZoneInfo(s.backend.timezone)
    first, last = _day(since, "--since"), _day(until, "--until")
    with Influx(s.influx) as influx:
        try:
            if first is None and last is None:
                n = storage.backfill_all(influx, s.storage, s.backend.timezone)
            else:
                oldest = storage.oldest_raw(influx, s.storage) if first is None else None
                since_ms = _ms(first, zone) if first else oldest or 0
                until_ms = _ms(last + timedelta(days=1), zone) if last else int(time.time() * 1000)
                n = storage.backfill(influx, s.storage, s.backend.timezone, since_ms, until_ms)
        except (storage.StorageError, InfluxError) as e:
            raise fail(str(e)) from None
    typer.echo(f"{n} rollup points written" if n else "no raw points: nothing to roll up")


@app.command("status")
def status_cmd(ctx: typer.Context) -> None:
    """The retention policies, the continuous queries and since when rollups are complete."""
    s = settings(ctx)
    db = s.influx.database
    with Influx(s.influx) as influx:
        try:
            for rp in influx.query(f'SHOW RETENTION POLICIES ON "{db}"'):
                typer.echo(
                    f"retention policy {rp['name']}: duration {rp['duration'] or 'for ever'}"
                    + (" (default)" if rp["default"] else "")
                )
            cqs = [
                r["name"]
                for r in influx.query("SHOW CONTINUOUS QUERIES")
                if f"ON {db} " in r["query"] or f'ON "{db}" ' in r["query"]
            ]
            typer.echo(f"continuous queries: {len(cqs)}")
            since = storage.coverage(influx)
        except InfluxError as e:
            raise fail(str(e)) from None
    if since is None:
        typer.echo("rollups: not set up (`pletfri storage setup`)")
    else:
        when = datetime.fromtimestamp(since / 1000, ZoneInfo(s.backend.timezone))
        typer.echo(f"rollups complete since {when.isoformat(timespec='minutes')}")


def _ms(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, datetime.min.time(), zone).timestamp() * 1000)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="storage")
