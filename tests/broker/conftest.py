"""A Mosquitto of its own with logins, the ACL from `pletfri broker` and a TLS listener."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from brcerts import make_ca, make_server
from brhelpers import DEVICES, HOST, Probe, Secured

from backend.broker import accounts, passwords
from backend.broker.acl import BACKEND, BACKEND_SPEAKS_FOR, GATEWAY
from pletfri.services import Mosquitto, TlsListener
from pletfri.settings import BrokerSettings


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    d = tmp_path_factory.mktemp("secured")
    files = BrokerSettings(password_file=d / "passwd", acl_file=d / "acl")
    logins = {
        dev.id: passwords.new_password() for dev in DEVICES if dev.kind not in BACKEND_SPEAKS_FOR
    }
    logins |= {GATEWAY: passwords.new_password(), BACKEND: passwords.new_password()}
    for user, password in logins.items():
        accounts.set_password(files, user, password)
    accounts.write_acl(files.acl_file, DEVICES)
    ca = make_ca(d / "ca", "Pletfri Test CA")
    other_ca = make_ca(d / "other", "Someone Else CA")
    server = make_server(d / "server", ca, HOST)
    m = Mosquitto(
        "mosquitto",
        d / "mosquitto",
        password_file=files.password_file,
        acl_file=files.acl_file,
        tls=TlsListener(server.cert, server.key),
    )
    m.start()
    files = files.model_copy(update={"pid_file": m.pid_file})
    try:
        yield Secured(m, files, logins, ca, other_ca)
    finally:
        m.stop()


@pytest.fixture
def probes() -> Iterator[list[Probe]]:
    made: list[Probe] = []
    yield made
    for p in made:
        p.close()
