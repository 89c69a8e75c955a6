"""The HTTP API: tokens and roles, and the routes over the little registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from behelpers import DAY, at, occupancy
from fastapi.testclient import TestClient

from backend.api import create_app
from backend.people import tokens
from backend.registry import Leader, Person, RegistryData
from backend.service import Backend


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25)
    app = create_app(backend.settings, clock=lambda: at("15:30"))
    with TestClient(app) as c:
        yield c


def auth(backend: Backend, role: tokens.ApiRole) -> dict[str, str]:
    token = tokens.create(backend.registry, role, f"test {role}", at("08:00"))
    return {"Authorization": f"Bearer {token}"}


def test_no_token_or_an_unknown_one_is_refused(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    r = client.get("/buildings")
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    r = client.get("/buildings", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


def test_roles_limit_what_a_token_may_do(client: TestClient, backend: Backend) -> None:
    facility = auth(backend, "facility")
    leader = auth(backend, "service_leader")
    admin = auth(backend, "admin")
    assert [b["id"] for b in client.get("/buildings", headers=facility).json()] == ["d", "s"]
    r = client.post("/plans", params={"shift": "afternoon"}, headers=facility)
    assert r.status_code == 403 and "service_leader or admin" in r.json()["detail"]
    assert client.get("/people", headers=facility).status_code == 403
    assert client.get("/registry", headers=leader).status_code == 403
    assert client.get("/registry", headers=admin).status_code == 200
    assert client.get("/alerts", headers=facility).status_code == 403
    assert client.get("/alerts", headers=leader).status_code == 200


def test_plans_verification_and_savings_over_http(client: TestClient, backend: Backend) -> None:
    leader = auth(backend, "service_leader")
    r = client.post("/plans", params={"shift": "afternoon", "building": "s"}, headers=leader)
    assert r.status_code == 200, r.text
    [plan] = r.json()
    assert plan["day"] == DAY.isoformat() and plan["minutes"] > 0
    assert "s-class1" in [e["room"] for e in plan["due"]]
    [stored] = client.get("/plans", params={"building": "s"}, headers=leader).json()
    assert stored["due"] == plan["due"]
    [books] = client.get("/verification", params={"building": "s"}, headers=leader).json()
    assert books["planned"] == len(plan["due"]) and books["pending"] == books["planned"]
    s = client.get("/savings", params={"first": DAY.isoformat()}, headers=leader).json()
    assert s["fixed_cleanings"] > 0 and s["done"] == 0
    r = client.post("/plans", params={"shift": "night"}, headers=leader)
    assert r.status_code == 400 and "no shift 'night'" in r.json()["detail"]


def test_registry_import_is_checked(client: TestClient, backend: Backend) -> None:
    admin = auth(backend, "admin")
    bad = {"rooms": [{"id": "x-1", "building": "nowhere", "type": "toilet", "area_m2": 9}]}
    r = client.put("/registry", json=bad, headers=admin)
    assert r.status_code == 422 and "unknown building 'nowhere'" in r.text
    good = {"buildings": [{"id": "x", "name": "Kulturhuset", "kind": "other"}], **bad}
    good["rooms"][0]["building"] = "x"
    r = client.put("/registry", json=good, headers=admin)
    assert r.status_code == 200 and r.json()["counts"]["buildings"] == 3
    r = client.delete("/registry/buildings/x", headers=admin)
    assert r.status_code == 200 and r.json()["counts"]["rooms"] == 5
    assert client.delete("/registry/buildings/x", headers=admin).status_code == 404
    assert client.delete("/registry/leaders/x", headers=admin).status_code == 422


def test_openapi_is_published(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/plans", "/verification", "/savings", "/registry", "/alerts"} <= set(spec["paths"])


def test_a_leader_bound_token_reaches_only_their_buildings(
    client: TestClient, backend: Backend
) -> None:
    backend.registry.merge(
        RegistryData(
            people=[Person(id="p8", role="service_leader", name="Mads Hansen")],
            leaders=[Leader(building="d", person="p8")],
        )
    )
    with pytest.raises(ValueError, match="'p1' is cleaner"):
        tokens.create(backend.registry, "service_leader", "x", 0, person="p1")
    token = tokens.create(backend.registry, "service_leader", "mads", 0, person="p8")
    mine = {"Authorization": f"Bearer {token}"}
    assert [b["id"] for b in client.get("/buildings", headers=mine).json()] == ["d"]
    assert {r["building"] for r in client.get("/rooms", headers=mine).json()} == {"d"}
    r = client.get("/rooms", params={"building": "s"}, headers=mine)
    assert r.status_code == 403 and "not one of yours" in r.json()["detail"]
    made = client.post("/plans", params={"shift": "afternoon"}, headers=mine).json()
    assert [p["building"] for p in made] == ["d"]
    assert [v["building"] for v in client.get("/verification", headers=mine).json()] == ["d"]
    assert (
        client.get("/savings", params={"first": DAY.isoformat()}, headers=mine).status_code == 403
    )
    s = client.get("/savings", params={"first": DAY.isoformat(), "building": "d"}, headers=mine)
    assert s.status_code == 200 and s.json()["building"] == "d"
