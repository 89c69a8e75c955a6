"""InfluxDB over its v1 HTTP API: line protocol to /write, InfluxQL on /query.

This one path works on InfluxDB 1.x natively and on 2.x/3.x through their
v1-compatibility API (shared/CONTRACT.md), which influxdb-client does not reach on 1.x.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from pletfri.settings import InfluxSettings


class InfluxError(Exception):
    """InfluxDB refused a request or could not be reached."""


def quote(value: str) -> str:
    """An InfluxQL string literal: `'value'`, backslashes and single quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _escape_key(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _field(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v}i"
    if isinstance(v, float):
        return repr(v)
    return _escape_str(str(v))


def line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, Any],
    ts_ms: int,
) -> str:
    """One point in line protocol, time in milliseconds (written with precision=ms).

    Tags are sorted (InfluxDB's advice for write speed); empty tag values are left out,
    as line protocol cannot carry them.
    """
    tag_part = "".join(
        f",{_escape_key(k)}={_escape_key(v)}" for k, v in sorted(tags.items()) if v != ""
    )
    field_part = ",".join(f"{_escape_key(k)}={_field(v)}" for k, v in fields.items())
    return f"{_escape_key(measurement)}{tag_part} {field_part} {ts_ms}"


class Influx:
    """A small synchronous client; thread-safe as httpx.Client is."""

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        headers = {}
        if settings.token:
            headers["Authorization"] = f"Token {settings.token}"
        auth = (settings.username, settings.password or "") if settings.username else None
        self.http = httpx.Client(
            base_url=settings.url, headers=headers, auth=auth, timeout=settings.timeout_s
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Influx:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> bool:
        try:
            return self.http.get("/ping").status_code == 204
        except httpx.HTTPError:
            return False

    def write(self, lines: Iterable[str], compress: bool = True, rp: str | None = None) -> None:
        """Write lines (time in ms), to the retention policy `rp` or the database's default.
        Raises InfluxError; a 4xx means the data is bad."""
        body = ("\n".join(lines) + "\n").encode()
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if compress:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        params = {"db": self.settings.database, "precision": "ms"}
        if rp:
            params["rp"] = rp
        try:
            r = self.http.post(
                "/write",
                params=params,
                content=body,
                headers=headers,
            )
        except httpx.HTTPError as e:
            raise InfluxError(f"InfluxDB at {self.settings.url} unreachable: {e}") from e
        if r.status_code != 204:
            raise InfluxError(f"InfluxDB write failed ({r.status_code}): {r.text.strip()}")

    def query(
        self, q: str, epoch: str = "ms", timeout_s: float | None = None
    ) -> list[dict[str, Any]]:
        """Run InfluxQL; return the rows of every series, each with its tags merged in.
        `timeout_s`: for a statement known to be long (a backfill), instead of the setting."""
        try:
            r = self.http.post(
                "/query",
                data={"db": self.settings.database, "q": q, "epoch": epoch},
                timeout=timeout_s or self.settings.timeout_s,
            )
        except httpx.HTTPError as e:
            raise InfluxError(f"InfluxDB at {self.settings.url} unreachable: {e}") from e
        if r.status_code != 200:
            raise InfluxError(f"InfluxDB query failed ({r.status_code}): {r.text.strip()}")
        rows: list[dict[str, Any]] = []
        for result in r.json().get("results", []):
            if "error" in result:
                raise InfluxError(f"InfluxQL error: {result['error']} in {q!r}")
            for series in result.get("series", []):
                tags = series.get("tags", {})
                cols = series["columns"]
                for values in series.get("values", []):
                    rows.append({**tags, **dict(zip(cols, values, strict=True))})
        return rows
