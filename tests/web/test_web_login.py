"""Logins, sessions, CSRF and throttles of the web pages, on a real backend database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from webhelpers import PASSWORD, csrf, log_in

from backend.api import create_app
from backend.service import Backend
from backend.web import accounts
from pletfri.settings import Settings, load_settings


def test_a_page_asks_for_login_and_comes_back_after_it(client: TestClient) -> None:
    r = client.get("/web/today?shift=afternoon", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/web/login?back=%2Fweb%2Ftoday%3Fshift%3Dafternoon"
    page = client.get(r.headers["location"])
    assert 'lang="da"' in page.text and "Log ind" in page.text
    done = client.post(
        "/web/login",
        data={"name": "cleaner", "password": PASSWORD, "csrf": csrf(page.text),
              "back": "/web/today?shift=afternoon"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/web/today?shift=afternoon"
    cookie = done.headers["set-cookie"]
    assert "pletfri_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; "auto" sets it over TLS
    assert client.get("/web/today").status_code == 200


def test_wrong_password_stale_form_and_another_site_as_target(client: TestClient) -> None:
    page = client.get("/web/login")
    token = csrf(page.text)
    wrong = client.post("/web/login", data={"name": "cleaner", "password": "nope", "csrf": token})
    assert wrong.status_code == 401 and "Forkert brugernavn eller adgangskode" in wrong.text
    stale = client.post("/web/login", data={"name": "cleaner", "password": PASSWORD, "csrf": "x"})
    assert stale.status_code == 403 and "Formularen var for gammel" in stale.text
    away = client.post(
        "/web/login",
        data={"name": "cleaner", "password": PASSWORD, "csrf": token,
              "back": "//evil.example/"},
        follow_redirects=False,
    )  # fmt: skip
    assert away.headers["location"] == "/web/"


def test_login_is_throttled_per_name(client: TestClient) -> None:
    token = csrf(client.get("/web/login").text)
    codes = [
        client.post("/web/login", data={"name": "leader", "password": "x", "csrf": token})
        for _ in range(6)
    ]
    assert [r.status_code for r in codes] == [401] * 5 + [429]
    assert int(codes[-1].headers["retry-after"]) >= 1
    assert "For mange forsøg" in codes[-1].text


def test_forms_need_the_session_csrf_token(client: TestClient) -> None:
    log_in(client, "leader")
    r = client.post("/web/logout", data={"csrf": "forged", "back": "/web/alerts"})
    assert r.status_code == 403 and 'href="/web/alerts"' in r.text
    assert client.get("/web/alerts").status_code == 200  # still logged in
    token = csrf(client.get("/web/alerts").text)
    client.post("/web/logout", data={"csrf": token})
    assert client.get("/web/alerts", follow_redirects=False).status_code == 303


def test_sessions_expire_idle_and_absolute(backend: Backend) -> None:
    user = accounts.authenticate(backend.registry, "cleaner", PASSWORD)
    assert user is not None
    sid = accounts.open_session(backend.registry, user, 0)
    assert accounts.session(backend.registry, sid, 50, idle_ms=100, max_ms=1000)
    assert accounts.session(backend.registry, sid, 140, idle_ms=100, max_ms=1000)
    assert accounts.session(backend.registry, sid, 260, idle_ms=100, max_ms=1000) is None
    sid = accounts.open_session(backend.registry, user, 0)
    for t in range(90, 1000, 90):
        assert accounts.session(backend.registry, sid, t, idle_ms=100, max_ms=1000)
    assert accounts.session(backend.registry, sid, 1080, idle_ms=100, max_ms=1000) is None


def test_a_person_gone_from_the_registry_cannot_log_in(
    client: TestClient, backend: Backend
) -> None:
    log_in(client, "cleaner")
    backend.registry.remove("people", "p1")
    assert client.get("/web/today", follow_redirects=False).status_code == 303
    assert accounts.authenticate(backend.registry, "cleaner", PASSWORD) is None


def test_secure_cookie_and_language_switch(backend: Backend, settings: Settings) -> None:
    s = load_settings(**{**settings.model_dump(), "web": {"secure_cookies": "always"}})
    with TestClient(create_app(s)) as c:
        page = c.get("/web/login")
        assert "Secure" in page.headers["set-cookie"]
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert page.headers["referrer-policy"] == "no-referrer"
        c.get("/web/language/en", params={"back": "/web/login"})
        assert "Log in" in c.get("/web/login").text


def test_logins_from_the_command_line(run_cli: object) -> None:
    invoke = run_cli  # type: ignore[assignment]
    r = invoke(["web", "user", "add", "ole", "--person", "p2", "--password", PASSWORD])
    assert r.exit_code == 0 and "buddy p2, buildings s" in r.output
    r = invoke(["web", "user", "add", "ole", "--person", "p2", "--password", PASSWORD])
    assert r.exit_code == 2 and "exists" in r.output
    r = invoke(["web", "user", "add", "ghost", "--person", "p77", "--password", PASSWORD])
    assert r.exit_code == 2 and "not in the registry" in r.output
    r = invoke(["web", "user", "add", "kim", "--person", "p1", "--password", "short"])
    assert r.exit_code == 2 and "at least 10 characters" in r.output
    r = invoke(["web", "user", "password", "ole"], input="another secret\nanother secret\n")
    assert r.exit_code == 0
    assert "ole\tp2\tbuddy" in invoke(["web", "user", "list"]).output
    assert invoke(["web", "user", "remove", "ole"]).exit_code == 0
    assert invoke(["web", "user", "remove", "ole"]).exit_code == 2


def test_a_token_bucket_refills_over_a_minute() -> None:
    from backend.web.throttle import Throttle

    bucket = Throttle(per_minute=3, max_keys=2)
    assert [bucket.take("a", now=0.0) for _ in range(4)] == [0, 0, 0, 20]
    assert bucket.take("a", now=19.0) == 1  # a token every 20 s
    assert bucket.take("a", now=20.5) == 0
    assert bucket.take("b", now=0.0) == 0 and bucket.take("c", now=0.0) == 0
    # At most max_keys remembered: the oldest key is forgotten, not the table grown.
    assert len(bucket._buckets) == 2 and "a" not in bucket._buckets
