"""Small builders for Grafana's dashboard JSON model (schemaVersion 39), InfluxQL targets only.

Plain dicts rather than grafana-foundation-sdk (pre-1.0): the few shapes we need are stable
across Grafana 9-11 and easy to check in tests.
"""

from __future__ import annotations

from typing import Any

DATASOURCE = {"type": "influxdb", "uid": "pletfri-influxdb"}
WIDTH = 24


def target(query: str, ref: str = "A", table: bool = False, alias: str = "") -> dict[str, Any]:
    t: dict[str, Any] = {
        "refId": ref,
        "datasource": DATASOURCE,
        "query": query,
        "rawQuery": True,
        "resultFormat": "table" if table else "time_series",
    }
    if alias:
        t["alias"] = alias
    return t


def panel(
    title: str,
    kind: str,
    queries: list[dict[str, Any]],
    w: int = 12,
    h: int = 8,
    unit: str = "",
    description: str = "",
) -> dict[str, Any]:
    """A panel; `layout` places it. kind: timeseries, barchart, stat, table, state-timeline."""
    p: dict[str, Any] = {
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "targets": queries,
        "gridPos": {"w": w, "h": h, "x": 0, "y": 0},
        "fieldConfig": {"defaults": {"unit": unit} if unit else {}, "overrides": []},
        "options": {},
    }
    if description:
        p["description"] = description
    return p


def layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place panels left to right, wrapping at Grafana's 24 columns, and number them."""
    x = y = row_h = 0
    for i, p in enumerate(panels, start=1):
        g = p["gridPos"]
        if x + g["w"] > WIDTH:
            x, y, row_h = 0, y + row_h, 0
        g["x"], g["y"] = x, y
        x += g["w"]
        row_h = max(row_h, g["h"])
        p["id"] = i
    return panels


def query_variable(name: str, label: str, query: str, multi: bool = True) -> dict[str, Any]:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": query,
        "definition": query,
        "refresh": 2,
        "multi": multi,
        "includeAll": True,
        "allValue": ".*",
        "current": {},
        "sort": 1,
    }


def policy_variables(level: str, suffix: str = "") -> list[dict[str, Any]]:
    """Hidden `$rp{suffix}` and `$step{suffix}`: the retention policy and GROUP BY step for
    the dashboard's time range, from the `rp_config` table `pletfri storage setup` writes
    (raw points for short ranges, hourly rollups for longer, daily beyond; docs/dashboards.md).
    Re-read on every time range change ($__from and $__to are epoch milliseconds)."""
    span = "$__to - $__from"
    out = []
    for name, field in ((f"rp{suffix}", "rp"), (f"step{suffix}", "step")):
        query = (
            f'SELECT "{field}" FROM "daily"."rp_config" WHERE "level" = \'{level}\' '
            f'AND {span} > "start" AND {span} <= "end"'
        )
        out.append(
            {
                "type": "query",
                "name": name,
                "label": name,
                "datasource": DATASOURCE,
                "query": query,
                "definition": query,
                "refresh": 2,
                "hide": 2,
                "multi": False,
                "includeAll": False,
                "current": {},
                "sort": 0,
            }
        )
    return out


ALERT_ANNOTATION = {
    "name": "Alerts",
    "datasource": DATASOURCE,
    "enable": True,
    "iconColor": "red",
    "query": 'SELECT "text" FROM "alert" WHERE $timeFilter',
    "textColumn": "text",
    "tagsColumn": "kind",
}


def dashboard(
    uid: str,
    title: str,
    panels: list[dict[str, Any]],
    variables: list[dict[str, Any]] | None = None,
    time_from: str = "now-7d",
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["pletfri"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "1m",
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables or []},
        "annotations": {"list": [ALERT_ANNOTATION]},
        "panels": layout(panels),
    }
