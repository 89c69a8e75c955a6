"""`pletfri web demo`'s parts on a small demo's data: the logins the demo made, the demo's
clock, and the pages answering on the servers started again on the demo's folder."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from backend.api import create_app
from backend.cleaning.shifts import local_day
from backend.registry import Registry
from pletfri.services import running_stack
from pletfri.settings import load_settings
from sim.demo import DemoOptions, demo_settings, simulate
from sim.webdemo import (
    PASSWORD,
    NoDemoData,
    demo_clock,
    demo_folder,
    demo_logins,
    sticker_link,
)

pytestmark = pytest.mark.slow


def test_the_pages_serve_the_demos_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = load_settings(run={"dir": tmp_path_factory.mktemp("webdemo")})
    with pytest.raises(NoDemoData, match=r"run \./demo\.sh"):
        demo_folder(base.run.dir)
    run = simulate(base, DemoOptions(buildings=3, days=1, seed=3, today=date(2026, 11, 28)))
    folder = demo_folder(base.run.dir)
    with running_stack(folder / "servers") as stack:
        s = demo_settings(base, stack, folder, seed=3)
        with Registry(s.backend.database_file) as reg:
            clock = demo_clock(reg)
            # The demo made the logins; asking again changes nothing.
            logins = {x.name: x for x in demo_logins(reg, clock())}
            assert len(reg.query("SELECT name FROM web_users")) == len(logins)
            cleaner = reg.person(logins["rengoering"].person)
            assert cleaner is not None and cleaner.building
            link = sticker_link(reg, s.stickers.master_key or "", cleaner.building, "")
            assert link is not None
        tz = run.calendar.tz
        assert local_day(clock(), tz) == run.calendar.days[-1].day
        with TestClient(create_app(s, clock=clock)) as c:
            for name, page, words in (
                ("rengoering", "/web/today", "Eftermiddagsvagt"),
                ("leder", "/web/alerts", "Alarmer for dine bygninger"),
                ("leder", "/web/verification", "Verificering"),
            ):
                c.cookies.clear()
                login = c.get("/web/login")
                token = re.search(r'name="csrf" value="([^"]+)"', login.text)
                assert token
                form = {"name": name, "password": PASSWORD, "csrf": token.group(1)}
                assert c.post("/web/login", data=form).status_code == 200
                r = c.get(page)
                assert r.status_code == 200 and words in r.text, (name, page, r.text[:500])
                if name == "rengoering":
                    # The sticker's next URL, as `pletfri web demo` prints it (no gateway
                    # here: recorded, the room's need unknown).
                    tapped = c.get(link)
                    assert tapped.status_code == 200 and "Registreret" in tapped.text
