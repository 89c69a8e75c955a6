"""The backend's operations on one registry and one InfluxDB, for the CLI, the API and the demo.

Every operation takes the time it runs at (``now_ms``) so that the simulator can drive a
past week faster than real time::

    with Backend(settings) as be:
        be.pair_visits(now_ms)                  # taps -> visit points
        be.make_plans(day, "afternoon", now_ms) # stored; -> [Plan] per building
        be.publish_need(now_ms)                 # retained need topics + need points
        be.verify(day, now_ms)                  # -> {building: DayVerification}
        be.savings(first, last, now_ms)         # -> Savings
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from backend.cleaning import need, planner, plans, rollups, roomtypes, shifts
from backend.cleaning.planner import Need, Plan
from backend.cleaning.savings import Savings, savings_by_building, savings_line, total
from backend.cleaning.verification import DayVerification, RoomVisits, verify
from backend.cleaning.visits import CONTEXT_MS, Visit, pair_and_write
from backend.people import privacy, sitekey
from backend.registry import Registry
from backend.registry.gateway_files import export_gateway_files
from backend.stickers.binding import CHECK_IN_KINDS, check_in_rooms
from pletfri.influx import Influx, InfluxError
from pletfri.settings import Settings

log = logging.getLogger(__name__)


class BackendError(Exception):
    pass


class Backend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.conf = settings.backend
        self.tz = ZoneInfo(self.conf.timezone)
        try:
            self.types = roomtypes.load(self.conf.room_types_file)
            self.shifts = shifts.parse(self.conf.shifts)
        except (roomtypes.RoomTypeError, shifts.ShiftError) as e:
            raise BackendError(str(e)) from None
        longest = max(t.hygiene_floor_days for t in self.types.values())
        if longest > self.conf.lookback_days:
            # A floor beyond the lookback could never be seen to pass.
            raise BackendError(
                f"a room type's hygiene floor is {longest:g} days but backend.lookback_days is "
                f"{self.conf.lookback_days}: raise lookback_days to at least {longest:g}"
            )
        self.registry = Registry(self.conf.database_file)
        self.influx = Influx(settings.influx)
        self._needs: tuple[tuple[int, str | None, int | None], dict[str, Need]] | None = None
        # Verification of each (day, building) at one instant, until visits or plans change:
        # the demo's books and its monthly report verify the same days at the same instant.
        self._verified: tuple[int, dict[tuple[date, str | None], dict[str, DayVerification]]] = (
            -1,
            {},
        )

    def close(self) -> None:
        self.influx.close()
        self.registry.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def shift(self, name: str) -> shifts.Shift:
        try:
            return self.shifts[name]
        except KeyError:
            raise BackendError(
                f"no shift {name!r}; backend.shifts has {', '.join(self.shifts)}"
            ) from None

    def _known(self, building: str | None) -> None:
        if building is not None and self.registry.building(building) is None:
            raise BackendError(
                f"no building {building!r} in the registry; `pletfri registry show` counts them"
            )

    def needs(
        self, now_ms: int, building: str | None = None, until_ms: int | None = None
    ) -> dict[str, Need]:
        """Every room's need at now_ms (the hygiene floor judged at until_ms, default now).

        The last result is kept until visits are paired again: the demo makes a shift's
        plans and then publishes the need at the same instant, which is one computation.
        """
        self._known(building)
        key = (now_ms, building, until_ms)
        if self._needs is not None and self._needs[0] == key:
            return self._needs[1]
        try:
            found = planner.needs(
                self.influx,
                self.registry.rooms(building),
                self.types,
                self.conf.need_threshold,
                self.conf.lookback_days,
                now_ms,
                until_ms,
                plans.assumed_cleanings(
                    self.registry, now_ms - self.conf.lookback_days * planner.DAY_MS, now_ms
                ),
            )
        except planner.PlannerError as e:
            raise BackendError(str(e)) from None
        self._needs = (key, found)
        return found

    def horizon(self, now_ms: int) -> int:
        """The end of the shift under way, else of the next one today, else now.

        A station's light then agrees with the plan: a room due by its hygiene floor before
        the shift ends shows "clean" from the start of the shift.
        """
        today = shifts.local_day(now_ms, self.tz)
        for s in self.shifts.values():
            end = s.window(today, self.tz)[1]
            if now_ms < end:
                return end
        return now_ms

    def make_plans(
        self, day: date, shift: str, now_ms: int, building: str | None = None, save: bool = True
    ) -> list[Plan]:
        """Plans for a shift from the data up to its start (or now, if earlier); stored."""
        window = self.shift(shift).window(day, self.tz)
        found = self.needs(min(now_ms, window[0]), building, until_ms=window[1])
        # A sticker proves a cleaning as a station does (docs/stickers.md).
        stations = check_in_rooms(self.registry)
        made = planner.plans_from_needs(
            self.registry.rooms(building), self.types, found, day, shift, window, now_ms, stations
        )
        result = [made[b] for b in sorted(made)]
        if save:
            plans.save(self.registry, result)
            self._verified = (-1, {})
        return result

    def plans(self, day: date, building: str | None = None, shift: str | None = None) -> list[Plan]:
        return plans.load(self.registry, day, building, shift)

    def pair_visits(self, now_ms: int, since_ms: int | None = None) -> list[Visit]:
        """Pair taps into visits that arrived after since_ms (default: a day before now)."""
        since = since_ms if since_ms is not None else now_ms - CONTEXT_MS
        self._needs = None
        self._verified = (-1, {})
        first = shifts.local_day(since, self.tz)
        last = shifts.local_day(now_ms, self.tz)
        if self.rotating():
            sitekey.learn(self.registry, self.influx, since - CONTEXT_MS, now_ms, now_ms)
        return pair_and_write(
            self.influx,
            {r.id: r for r in self.registry.rooms()},
            self.registry.card_owners(),
            self.types,
            self.conf,
            plans.planned_rooms(self.registry, first, last),
            since,
            now_ms,
            sitekey.successors(self.registry),
        )

    def rotating(self) -> bool:
        """Whether a site-key rotation's overlap is under way (backend/people/sitekey.py)."""
        try:
            return sitekey.load(self.conf.site_key_file).rotation is not None
        except sitekey.SiteKeyError:
            return False  # no key file here (e.g. keys kept off this host): nothing to learn

    def publish_need(self, now_ms: int) -> dict[str, Need]:
        """Write need points for every room and publish each station's retained need.

        The hygiene floor is judged at the end of the shift under way or next (`horizon`).
        """
        found = self.needs(now_ms, until_ms=self.horizon(now_ms))
        lines = planner.need_lines(found, now_ms)
        if lines:
            self.influx.write(lines)
        # Stickers too: the gateway answers a sticker's tap with its room's need.
        items = need.messages(
            [d for d in self.registry.placed_devices() if d.kind in CHECK_IN_KINDS], found
        )
        need.publish(self.settings.mqtt, items)
        return found

    def verify(
        self,
        day: date,
        now_ms: int,
        building: str | None = None,
        counts: Mapping[str, RoomVisits] | None = None,
    ) -> dict[str, DayVerification]:
        """`counts`: the day's visits counted per room (backend/cleaning/rollups.py), not read."""
        self._known(building)
        if counts is not None:
            buildings = [building] if building else [b.id for b in self.registry.buildings()]
            return verify(
                self.influx, self.plans(day, building), buildings, day, self.tz,
                self.conf.lookback_days, now_ms, counts=counts,
            )  # fmt: skip
        if self._verified[0] != now_ms:
            self._verified = (now_ms, {})
        found = self._verified[1].get((day, building))
        if found is None:
            buildings = [building] if building else [b.id for b in self.registry.buildings()]
            found = verify(
                self.influx,
                self.plans(day, building),
                buildings,
                day,
                self.tz,
                self.conf.lookback_days,
                now_ms,
            )
            self._verified[1][(day, building)] = found
        return copy.deepcopy(found)

    def savings(self, first: date, last: date, now_ms: int, building: str | None = None) -> Savings:
        per = self.savings_by_building(first, last, now_ms, building)
        return total(per.values(), first, last, building)

    def savings_by_building(
        self,
        first: date,
        last: date,
        now_ms: int,
        building: str | None = None,
        counts: Mapping[date, Mapping[str, RoomVisits]] | None = None,
    ) -> dict[str, Savings]:
        """`counts`: visits per room and day; by default from the hourly rollups for the days
        they hold in full (backend/cleaning/rollups.py), so savings outlive the person-level
        visits."""
        self._known(building)
        if counts is None:
            counts = self.room_days(first, last, now_ms, building)
        by_day = {}
        day = first
        while day <= last:
            by_day[day] = self.plans(day, building)
            day = date.fromordinal(day.toordinal() + 1)
        return savings_by_building(
            self.influx, self.registry.rooms(), self.types, by_day, first, last, self.tz,
            now_ms, building, counts,
        )  # fmt: skip

    def room_days(
        self, first: date, last: date, now_ms: int, building: str | None = None
    ) -> dict[date, dict[str, RoomVisits]]:
        """Visits counted per room for the days of first..last the rollups hold in full."""
        return rollups.room_days(
            self.influx, self.settings.storage, self.tz, first, last, now_ms, building
        )

    def record_savings(self, first: date, last: date, now_ms: int) -> Savings:
        """Savings of first..last, also written as one `savings` point per building and day
        (for Grafana); costs no more than `savings`, which works day by day too."""
        rooms = self.registry.rooms()
        days = []
        day = first
        while day <= last:
            per = savings_by_building(
                self.influx, rooms, self.types, {day: self.plans(day)}, day, day, self.tz, now_ms
            )
            self.influx.write(savings_line(s, self.tz) for s in per.values())
            days += per.values()
            day = date.fromordinal(day.toordinal() + 1)
        return total(days, first, last, None)

    def export_gateway_files(
        self, devices_csv: Path | None = None, cards_csv: Path | None = None
    ) -> tuple[Path, Path, int, int]:
        """devices.csv and cards.csv where the gateway's settings say it reads them."""
        gw = self.settings.gateway
        devices = devices_csv or gw.registry_file
        cards = cards_csv or gw.cards_file or devices.with_name("cards.csv")
        n_devices, n_cards = export_gateway_files(self.registry, devices, cards)
        return devices, cards, n_devices, n_cards

    def export_person(self, person_id: str, now_ms: int) -> dict[str, Any]:
        """What the platform holds about one person (backend/privacy.py)."""
        try:
            return privacy.person_export(
                self.registry,
                self.influx,
                self.conf.database_file,
                person_id,
                now_ms,
                self.conf.retention_days,
            )
        except privacy.UnknownPerson as e:
            raise BackendError(str(e)) from None

    def forget(self, now_ms: int, apply: bool = True) -> Any:
        """The retention rule (backend/people/forgetting.py): person-level data older than
        backend.retention_days summarised, the report's figures kept, then deleted."""
        # Imported here: forgetting keeps the report's figures, and the report needs Backend.
        from backend.people import forgetting

        return forgetting.run(self, now_ms, apply)

    def tick(self, now_ms: int, previous_ms: int) -> None:
        """One round of `pletfri backend run`: visits, plans for shifts that began, need;
        on the first round of a day, the retention rule."""
        self.pair_visits(now_ms)
        today = shifts.local_day(now_ms, self.tz)
        if shifts.local_day(previous_ms, self.tz) != today:
            yesterday = shifts.local_day(previous_ms, self.tz)
            self.record_savings(yesterday, yesterday, now_ms)
            try:
                self.forget(now_ms)  # logs what it removed
            except InfluxError as e:
                # InfluxDB 2.x/3.x refuse DELETE over the v1 API; the rest of the round goes on.
                log.warning("retention not applied (set the bucket's retention instead): %s", e)
        for name, s in self.shifts.items():
            start = s.window(today, self.tz)[0]
            if previous_ms < start <= now_ms:
                made = self.make_plans(today, name, now_ms)
                log.info("planned %s %s: %d buildings", today, name, len(made))
        self.publish_need(now_ms)
