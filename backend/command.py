"""What the backend's commands share: their common options, the Backend they open, and
reading --now and --date."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from backend.cleaning.need import NeedPublishError
from backend.cleaning.shifts import local_day
from backend.registry import RegistryError
from backend.registry.schema import SchemaError
from backend.service import Backend, BackendError
from pletfri.command import fail, settings
from pletfri.influx import InfluxError

NowOpt = Annotated[
    str | None,
    typer.Option("--now", help="Act as if it were this local time (ISO, e.g. 2026-11-16T15:00)."),
]
DateOpt = Annotated[
    str | None, typer.Option("--date", help="Local day, YYYY-MM-DD (default today).")
]
BuildingOpt = Annotated[str | None, typer.Option("--building", "-b", help="Only this building.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def running_backend(ctx: typer.Context) -> Iterator[Backend]:
    try:
        with Backend(settings(ctx)) as be:
            yield be
    except (BackendError, RegistryError, SchemaError, NeedPublishError) as e:
        raise fail(str(e)) from None
    except InfluxError as e:
        raise fail(f"{e}; is InfluxDB running? (`pletfri services run`, influx.url)") from None


def parse_now(ctx: typer.Context, now: str | None) -> int:
    if now is None:
        return int(time.time() * 1000)
    tz = ZoneInfo(settings(ctx).backend.timezone)
    try:
        t = datetime.fromisoformat(now)
    except ValueError:
        raise fail(f"--now {now!r}: give a local time like 2026-11-16T15:00") from None
    return int((t if t.tzinfo else t.replace(tzinfo=tz)).timestamp() * 1000)


def parse_day(ctx: typer.Context, day: str | None, now_ms: int) -> date:
    if day is None:
        return local_day(now_ms, ZoneInfo(settings(ctx).backend.timezone))
    try:
        return date.fromisoformat(day)
    except ValueError:
        raise fail(f"--date {day!r}: give a day like 2026-11-16") from None


def to_json(obj: Any) -> str:
    plain = dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
    return json.dumps(plain, default=str, ensure_ascii=False, indent=2)
