"""The Pletfri dashboards: what facility staff see in Grafana. Queries are InfluxQL over the
measurements of shared/CONTRACT.md (and the gateway's own `gateway` measurement).

Panels over the bulky series (occupancy, need, device health) read `"$rp"` grouped by
`$step`: raw points for short time ranges, the hourly or daily rollups for long ones
(pletfri/storage.py, docs/dashboards.md). Counts of visits, taps and alerts read the raw
points: few, and the person-level ones are kept only for backend.retention_days anyway."""

from __future__ import annotations

from typing import Any

from dashboards.model import dashboard, panel, policy_variables, query_variable, target

B = '"building" =~ /^$building$/'
R = '"room" =~ /^$room$/'
SAVINGS = '"daily"."savings"'
BUILDING = query_variable(
    "building", "Building", 'SHOW TAG VALUES FROM "occupancy" WITH KEY = "building"'
)
ROOM = query_variable(
    "room",
    "Room",
    'SHOW TAG VALUES FROM "occupancy" WITH KEY = "room" WHERE "building" =~ /^$building$/',
)


def overview() -> dict[str, Any]:
    return dashboard(
        "pletfri-overview",
        "Pletfri: all buildings",
        [
            panel(
                "Verified visits",
                "stat",
                [target('SELECT count("duration_s") FROM "visit" WHERE $timeFilter')],
                w=6,
                h=4,
            ),
            panel(
                "Taps",
                "stat",
                [target('SELECT count("card") FROM "tap" WHERE $timeFilter')],
                w=6,
                h=4,
            ),
            panel(
                "Rooms due (last plan)",
                "stat",
                [target('SELECT count("score") FROM "need" WHERE "due" = true AND $timeFilter')],
                w=6,
                h=4,
            ),
            panel(
                "Alerts",
                "stat",
                [target('SELECT count("text") FROM "alert" WHERE $timeFilter')],
                w=6,
                h=4,
            ),
            panel(
                "Usage: PIR triggers, all buildings",
                "timeseries",
                [
                    target(
                        'SELECT sum("motion") FROM "$rp"."occupancy" WHERE $timeFilter '
                        "GROUP BY time($step) fill(0)",
                        alias="motion",
                    )
                ],
                w=24,
            ),
            panel(
                "Visits per building",
                "table",
                [
                    target(
                        'SELECT count("duration_s") AS "visits", mean("duration_s") AS "mean_s" '
                        'FROM "visit" WHERE $timeFilter GROUP BY "building"',
                        table=True,
                    )
                ],
            ),
            panel(
                "Need against cleaning done, per day",
                "timeseries",
                [
                    target(
                        'SELECT count("score") FROM "need" WHERE "due" = true AND $timeFilter '
                        "GROUP BY time(1d) fill(0)",
                        alias="rooms due",
                    ),
                    target(
                        'SELECT count("duration_s") FROM "visit" WHERE $timeFilter '
                        "GROUP BY time(1d) fill(0)",
                        ref="B",
                        alias="visits",
                    ),
                ],
            ),
        ],
        policy_variables("building"),
    )


def building() -> dict[str, Any]:
    return dashboard(
        "pletfri-building",
        "Pletfri: one building",
        [
            panel(
                "Usage per room (PIR triggers)",
                "timeseries",
                [
                    target(
                        f'SELECT sum("motion") FROM "$rp_room"."occupancy" WHERE {B} AND {R} '
                        'AND $timeFilter GROUP BY time($step_room), "room" fill(0)',
                        alias="$tag_room",
                    )
                ],
                w=24,
            ),
            panel(
                "Need score per room",
                "timeseries",
                [
                    target(
                        f'SELECT max("score") FROM "$rp_room"."need" WHERE {B} AND {R} '
                        'AND $timeFilter GROUP BY time($step_room), "room"',
                        alias="$tag_room",
                    )
                ],
            ),
            panel(
                "Presence seconds per room",
                "timeseries",
                [
                    target(
                        f'SELECT sum("presence_s") FROM "$rp_room"."occupancy" WHERE {B} AND {R} '
                        'AND $timeFilter GROUP BY time($step_room), "room" fill(0)',
                        alias="$tag_room",
                    )
                ],
            ),
            panel(
                "Visits",
                "table",
                [
                    target(
                        f'SELECT "room", "duration_s", "planned" FROM "visit" WHERE {B} AND {R} '
                        "AND $timeFilter",
                        table=True,
                    )
                ],
                w=24,
            ),
        ],
        [BUILDING, ROOM, *policy_variables("room", "_room")],
    )


def device_health() -> dict[str, Any]:
    return dashboard(
        "pletfri-devices",
        "Pletfri: device health",
        [
            panel(
                "Battery (mV) per sensor",
                "timeseries",
                [
                    target(
                        f'SELECT mean("batt_mv") FROM "$rp"."device" WHERE {B} AND $timeFilter '
                        'GROUP BY time($step), "device"',
                        alias="$tag_device",
                    )
                ],
                unit="mvolt",
            ),
            panel(
                "Offline queue per device",
                "timeseries",
                [
                    target(
                        f'SELECT max("queue") FROM "$rp"."device" WHERE {B} AND $timeFilter '
                        'GROUP BY time($step), "device"',
                        alias="$tag_device",
                    )
                ],
            ),
            panel(
                "Online (1) / offline (0)",
                "state-timeline",
                [
                    target(
                        f'SELECT last("online") FROM "$rp"."device" WHERE {B} AND $timeFilter '
                        'GROUP BY time($step), "device" fill(previous)',
                        alias="$tag_device",
                    )
                ],
                w=24,
            ),
            panel(
                "Lowest batteries",
                "table",
                [
                    target(
                        f'SELECT last("batt_mv") AS "batt_mv" FROM "$rp"."device" WHERE {B} '
                        'AND $timeFilter GROUP BY "device", "kind"',
                        table=True,
                    )
                ],
            ),
            panel(
                "Wi-Fi signal (dBm)",
                "timeseries",
                [
                    target(
                        f'SELECT mean("rssi") FROM "$rp"."device" WHERE {B} AND $timeFilter '
                        'GROUP BY time($step), "device"',
                        alias="$tag_device",
                    )
                ],
            ),
        ],
        [BUILDING, *policy_variables("building")],
    )


def alerts() -> dict[str, Any]:
    return dashboard(
        "pletfri-alerts",
        "Pletfri: alerts",
        [
            panel(
                "Alerts by kind",
                "timeseries",
                [
                    target(
                        f'SELECT count("text") FROM "alert" WHERE {B} AND $timeFilter '
                        'GROUP BY time($__interval), "kind" fill(0)',
                        alias="$tag_kind",
                    )
                ],
                w=24,
            ),
            panel(
                "Alert log",
                "table",
                [
                    target(
                        f'SELECT "building", "kind", "severity", "room", "text" FROM "alert" '
                        f"WHERE {B} AND $timeFilter",
                        table=True,
                    )
                ],
                w=24,
                h=12,
            ),
        ],
        [BUILDING],
    )


def savings() -> dict[str, Any]:
    """From the backend's daily `savings` points (docs/backend.md), as the daily rollup keeps
    them for ever (the raw ones go with the raw retention policy)."""
    return dashboard(
        "pletfri-savings",
        "Pletfri: savings against the fixed schedule",
        [
            panel(
                "Cleanings avoided",
                "stat",
                [target(f'SELECT sum("avoided") FROM {SAVINGS} WHERE {B} AND $timeFilter')],
                w=6,
                h=4,
            ),
            panel(
                "Hours saved",
                "stat",
                [
                    target(
                        f'SELECT sum("minutes_saved") / 60 FROM {SAVINGS} WHERE {B} AND $timeFilter'
                    )
                ],
                w=6,
                h=4,
                unit="h",
            ),
            panel(
                "Cleanings made (verified visits)",
                "stat",
                [target(f'SELECT sum("done") FROM {SAVINGS} WHERE {B} AND $timeFilter')],
                w=6,
                h=4,
            ),
            panel(
                "Risk: due and not cleaned",
                "stat",
                [target(f'SELECT sum("due_not_cleaned") FROM {SAVINGS} WHERE {B} AND $timeFilter')],
                w=6,
                h=4,
            ),
            panel(
                "Fixed schedule against cleanings made, per day",
                "barchart",
                [
                    target(
                        f'SELECT sum("fixed_cleanings") AS "fixed schedule", sum("done") AS "made" '
                        f"FROM {SAVINGS} WHERE {B} AND $timeFilter GROUP BY time(1d) fill(none)",
                        table=True,
                    )
                ],
                w=24,
            ),
            panel(
                "Savings per building",
                "table",
                [
                    target(
                        'SELECT sum("avoided") AS "avoided", '
                        'sum("minutes_saved") AS "minutes saved", '
                        f'sum("due_not_cleaned") AS "due, not cleaned" FROM {SAVINGS} '
                        f'WHERE {B} AND $timeFilter GROUP BY "building"',
                        table=True,
                    )
                ],
                w=24,
            ),
        ],
        [
            query_variable(
                "building",
                "Building",
                'SHOW TAG VALUES FROM "savings" WITH KEY = "building"',
            )
        ],
        time_from="now-30d",
    )


def training() -> dict[str, Any]:
    """Trainees on the training tracks: their visits, with and without a buddy, and hours."""
    trainee = f""""role" = 'trainee' AND {B} AND $timeFilter"""
    return dashboard(
        "pletfri-training",
        "Pletfri: training tracks",
        [
            panel(
                "Trainee visits with a buddy",
                "stat",
                [
                    target(
                        f'SELECT count("duration_s") FROM "visit" '
                        f'WHERE "buddy" =~ /./ AND {trainee}'
                    )
                ],
                w=8,
                h=4,
            ),
            panel(
                "Trainee visits, all",
                "stat",
                [target(f'SELECT count("duration_s") FROM "visit" WHERE {trainee}')],
                w=8,
                h=4,
            ),
            panel(
                "Training hours",
                "stat",
                [target(f'SELECT sum("duration_s") / 3600 FROM "visit" WHERE {trainee}')],
                w=8,
                h=4,
                unit="h",
            ),
            panel(
                "Trainee hours per day",
                "timeseries",
                [
                    target(
                        f'SELECT sum("duration_s") / 3600 FROM "visit" WHERE {trainee} '
                        "GROUP BY time(1d) fill(0)",
                        alias="hours",
                    )
                ],
                w=24,
            ),
            panel(
                "Trainee visits per building",
                "table",
                [
                    target(
                        'SELECT count("duration_s") AS "visits", '
                        'sum("duration_s") / 3600 AS "hours" '
                        f'FROM "visit" WHERE {trainee} GROUP BY "building"',
                        table=True,
                    )
                ],
                w=24,
            ),
        ],
        [
            query_variable(
                "building", "Training track", 'SHOW TAG VALUES FROM "visit" WITH KEY = "building"'
            )
        ],
        time_from="now-30d",
    )


def all_dashboards() -> list[dict[str, Any]]:
    return [overview(), building(), device_health(), alerts(), savings(), training()]
