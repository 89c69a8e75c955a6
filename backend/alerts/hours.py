"""Spans of the local day ("HH:MM-HH:MM"): quiet hours and timetabled use."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_SPAN = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


class SpanError(ValueError):
    pass


def parse_span(span: str) -> tuple[time, time]:
    m = _SPAN.match(span.strip())
    if not m:
        raise SpanError(
            f"{span!r} is not a span of the day; write it as HH:MM-HH:MM, e.g. 22:00-06:00"
        )
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise SpanError(f"{span!r} has an impossible time of day; hours 00-23, minutes 00-59")
    return time(h1, m1), time(h2, m2)


def quiet_until(now_ms: int, span: str, tz: ZoneInfo) -> int:
    """`now_ms` if it is outside the quiet span, else when the span ends (it may cross midnight)."""
    if not span:
        return now_ms
    start, end = parse_span(span)
    if start == end:
        return now_ms
    now = datetime.fromtimestamp(now_ms / 1000, tz)
    t = now.timetz().replace(tzinfo=None)
    crosses = start > end
    inside = (t >= start or t < end) if crosses else (start <= t < end)
    if not inside:
        return now_ms
    day = now.date() + timedelta(days=1) if crosses and t >= start else now.date()
    return int(datetime.combine(day, end, tz).timestamp() * 1000)


def last_use_window(
    now_ms: int, span: str, weekdays: list[int], length_s: float, tz: ZoneInfo
) -> tuple[int, int] | None:
    """The latest `length_s` of one day's in-use span that has passed by `now_ms`.

    Looks back a week at most; None if no weekday qualifies.
    """
    start, end = parse_span(span)
    now = datetime.fromtimestamp(now_ms / 1000, tz)
    for back in range(8):
        day = now.date() - timedelta(days=back)
        if day.weekday() not in weekdays:
            continue
        begin = datetime.combine(day, start, tz)
        stop = min(datetime.combine(day, end, tz), now)
        if (stop - begin).total_seconds() >= length_s:
            stop_ms = int(stop.timestamp() * 1000)
            return stop_ms - int(length_s * 1000), stop_ms
    return None
