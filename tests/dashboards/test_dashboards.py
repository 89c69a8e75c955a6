"""Every dashboard query runs against the real InfluxDB with representative data.

No Grafana binary is available here, so Grafana's macros are expanded as Grafana would
($timeFilter, $__interval, regex variables) and the InfluxQL goes to the real server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from dashboards.definitions import all_dashboards
from dashboards.files import JSON_DIR, read_all, render
from dashboards.push import PushError, push
from pletfri import storage
from pletfri.influx import Influx, line
from pletfri.settings import Settings

HOUR = 3_600_000


def sample_lines(t0: int) -> list[str]:
    """A day of points in the shapes of CONTRACT.md, for two rooms of one building."""
    out = []
    for h in range(24):
        t = t0 + h * HOUR
        for room in ("b001-r101", "b001-r102"):
            tags = {"building": "b001", "room": room}
            out.append(
                line(
                    "occupancy",
                    {**tags, "room_type": "classroom", "device": f"occ-{room[-3:]}000000000"},
                    {
                        "period_s": 900,
                        "motion": h % 5,
                        "presence_s": 60 * (h % 3),
                        "clock_ok": True,
                    },
                    t,
                )
            )
            out.append(line("need", tags, {"score": h / 10, "due": h % 2 == 0}, t))
        out.append(
            line(
                "device",
                {"device": "occ-101000000000", "kind": "sensor", "building": "b001"},
                {"batt_mv": 3000 - h, "rssi": -60, "queue": 0, "online": 1},
                t,
            )
        )
    out.append(
        line(
            "tap",
            {"building": "b001", "room": "b001-r101", "device": "nfc-101000000000"},
            {"card": "0123456789abcdef", "boot": 1, "seq": 1, "clock_ok": True},
            t0 + HOUR,
        )
    )
    visit = {"building": "b001", "room": "b001-r101"}
    out.append(
        line(
            "visit",
            visit,
            {"card": "0123456789abcdef", "duration_s": 600, "planned": True, "role": "trainee"},
            t0 + 2 * HOUR,
        )
    )
    out.append(
        line(
            "visit",
            visit,
            {"card": "0123456789abcdef", "duration_s": 900, "planned": True, "role": "trainee",
             "buddy": "fedcba9876543210"},
            t0 + 5 * HOUR,
        )
    )  # fmt: skip
    out.append(
        line(
            "savings",
            {"building": "b001"},
            {"fixed_cleanings": 4.4, "done": 4, "unverified": 0, "avoided": 0.4,
             "fixed_minutes": 49.6, "minutes_saved": 1.8, "due_not_cleaned": 1},
            t0,
        )
    )  # fmt: skip
    out.append(
        line(
            "alert",
            {"building": "b001", "kind": "missed_cleaning", "severity": "warning"},
            {"text": "b001-r102 not cleaned", "room": "b001-r102"},
            t0 + 3 * HOUR,
        )
    )
    return out


def expand(query: str, t0: int, t1: int, rp: str = "autogen", step: str = "15m") -> str:
    """Grafana's macro and variable expansion for one building, all rooms; `rp` and `step`
    are what the dashboards' retention-policy variables chose."""
    q = query.replace("$timeFilter", f"time >= {t0}ms AND time <= {t1}ms")
    q = q.replace("$__interval", "1h").replace("$__from", str(t0)).replace("$__to", str(t1))
    q = q.replace("$rp_room", rp if rp != "daily" else "hourly").replace("$rp", rp)
    q = q.replace("$step_room", step).replace("$step", step)
    q = q.replace("/^$building$/", "/^(b001)$/").replace("/^$room$/", "/^.*$/")
    assert not re.search(r"\$(?!/)", q), f"unexpanded macro in {q}"
    return q


def queries(d: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for p in d["panels"]:
        for t in p["targets"]:
            yield f"{d['uid']} / {p['title']} / {t['refId']}", t["query"]
    for v in d["templating"]["list"]:
        yield f"{d['uid']} / variable {v['name']}", v["query"]
    for a in d["annotations"]["list"]:
        yield f"{d['uid']} / annotation {a['name']}", a["query"]


@pytest.fixture
def rolled_up(influx: Influx, settings: Settings) -> tuple[Influx, int]:
    t0 = (int(time.time() * 1000) // HOUR - 48) * HOUR
    influx.write(sample_lines(t0))
    storage.backfill(influx, settings.storage, settings.backend.timezone, t0, t0 + 24 * HOUR)
    return influx, t0


def test_committed_json_is_current() -> None:
    for d in all_dashboards():
        path = JSON_DIR / f"{d['uid']}.json"
        assert path.read_text() == render(d), f"{path} is stale: run `pletfri dashboards build`"


def test_every_query_returns_data_from_real_influxdb(rolled_up: tuple[Influx, int]) -> None:
    """Over two days, as Grafana shows them: raw points (savings: the daily rollup, whose
    point is at the local midnight before t0)."""
    influx, t0 = rolled_up
    empty = []
    for d in read_all():
        for where, q in queries(d):
            rows = influx.query(expand(q, t0 - 24 * HOUR, t0 + 24 * HOUR))
            if not rows:
                empty.append(where)
    assert empty == []


def test_long_ranges_read_the_rollups(rolled_up: tuple[Influx, int]) -> None:
    """Every panel that switches returns data from the hourly and from the daily rollups."""
    influx, t0 = rolled_up
    switching = 0
    empty = []
    for d in read_all():
        for where, q in queries(d):
            if '"$rp' not in q:
                continue
            switching += 1
            for rp, step in (("hourly", "1h"), ("daily", "1d")):
                if not influx.query(expand(q, t0 - 24 * HOUR, t0 + 48 * HOUR, rp, step)):
                    empty.append(f"{where} ({rp})")
    assert switching >= 9 and empty == []


def test_policy_variables_follow_the_time_range(rolled_up: tuple[Influx, int]) -> None:
    influx, _ = rolled_up
    by_uid = {d["uid"]: d for d in read_all()}
    overview, building = by_uid["pletfri-overview"], by_uid["pletfri-building"]
    variables = {
        v["name"]: v["query"]
        for d in (overview, building)
        for v in d["templating"]["list"]
        if v["name"].startswith(("rp", "step"))
    }
    day = 24 * HOUR
    for days, rp, step, rp_room in (
        (1, "autogen", "15m", "autogen"),
        (30, "hourly", "1h", "hourly"),
        (365, "daily", "1d", "hourly"),
    ):
        got = {
            name: [r[name.split("_")[0]] for r in influx.query(expand(q, 0, days * day))]
            for name, q in variables.items()
        }
        assert got == {"rp": [rp], "step": [step], "rp_room": [rp_room], "step_room": [step]}


def test_variable_query_is_scoped_by_building(influx: Influx) -> None:
    t0 = (int(time.time() * 1000) // HOUR - 48) * HOUR
    influx.write(sample_lines(t0))
    room_var = next(v for v in all_dashboards()[1]["templating"]["list"] if v["name"] == "room")
    rows = influx.query(expand(room_var["query"], t0, t0))
    assert sorted(r["value"] for r in rows) == ["b001-r101", "b001-r102"]


class _Grafana(BaseHTTPRequestHandler):
    """Grafana's HTTP API as far as the push uses it, recording each request."""

    calls: ClassVar[list[tuple[str, str, Any]]] = []
    folders: ClassVar[set[str]] = set()

    def _reply(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, self.headers.get("Authorization")))
        uid = self.path.rsplit("/", 1)[-1]
        if uid in self.folders:
            self._reply(200, {"uid": uid, "title": "Pletfri"})
        else:
            self._reply(404, {"message": "folder not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(("POST", self.path, body))
        if self.path == "/api/folders":
            self.folders.add(body["uid"])
            self._reply(200, {"uid": body["uid"]})
        elif self.path == "/api/dashboards/db":
            ok = body["dashboard"]["panels"] and body["folderUid"] == "pletfri"
            self._reply(200 if ok else 400, {"status": "success", "uid": body["dashboard"]["uid"]})
        else:
            self._reply(404, {"message": "not found"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def grafana() -> Iterator[str]:
    _Grafana.calls, _Grafana.folders = [], set()
    server = HTTPServer(("127.0.0.1", 0), _Grafana)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_push_creates_folder_then_dashboards(grafana: str) -> None:
    dashboards = read_all()
    assert push(grafana, "glsa_test", dashboards) == [d["uid"] for d in dashboards]
    posts = [(c[1], c[2]) for c in _Grafana.calls if c[0] == "POST"]
    assert posts[0] == ("/api/folders", {"title": "Pletfri", "uid": "pletfri"})
    assert [b["dashboard"]["uid"] for p, b in posts[1:]] == [d["uid"] for d in dashboards]
    assert all(b["overwrite"] is True for _, b in posts[1:])
    gets = [c for c in _Grafana.calls if c[0] == "GET"]
    assert gets[0][2] == "Bearer glsa_test"
    # A second push finds the folder and does not create it again.
    push(grafana, "glsa_test", dashboards)
    assert sum(1 for c in _Grafana.calls if c[1] == "/api/folders") == 1


def test_push_to_nothing_says_unreachable() -> None:
    with pytest.raises(PushError, match=r"unreachable|refused"):
        push("http://127.0.0.1:9", None, read_all(), timeout=1)
