"""The password file in mosquitto_passwd's own format, the ACL from the registry, and the
`pletfri broker` commands that keep both."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.broker import accounts, passwords
from backend.broker.acl import AclDevice, acl_text
from backend.registry import Building, Device, Registry, RegistryData, Room
from pletfri.cli import app as cli

MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
STATION, SENSOR = "nfc-a4cf12f0b3c1", "occ-a4cf12f0b3c2"


def test_hashes_are_the_ones_mosquitto_passwd_writes(tmp_path: Path) -> None:
    f = tmp_path / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(f), "alice", "s3cret:x"], check=True)
    theirs = passwords.read(f)["alice"]
    assert passwords.check_password("s3cret:x", theirs)
    assert not passwords.check_password("s3cret", theirs)
    _, kind, iterations, salt, _ = theirs.split("$")
    assert (kind, int(iterations)) == ("7", passwords.ITERATIONS)
    assert len(base64.b64decode(salt)) == passwords.SALT_LEN
    # The same password and salt give the very line mosquitto_passwd wrote.
    assert passwords.hash_password("s3cret:x", base64.b64decode(salt)) == theirs
    # And mosquitto_passwd keeps working on a file written here.
    passwords.write(f, {"alice": theirs, "bob": passwords.hash_password("pw")})
    subprocess.run([MOSQUITTO_PASSWD, "-b", str(f), "carol", "pw3"], check=True)
    users = passwords.read(f)
    assert list(users) == ["alice", "bob", "carol"]
    assert passwords.check_password("pw", users["bob"])
    # A file made here is its owner's alone; an existing one keeps its mode (and group).
    fresh = tmp_path / "fresh"
    passwords.write(fresh, users)
    assert fresh.stat().st_mode & 0o777 == 0o600


def test_a_plain_line_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    f = tmp_path / "passwd"
    f.write_text("alice:plain\n")
    with pytest.raises(passwords.PasswordFileError, match=r"passwd:1 .*re-issue"):
        passwords.read(f)
    with pytest.raises(passwords.PasswordFileError, match="without ':'"):
        passwords.write(f, {"a:b": passwords.hash_password("x")})
    assert f.read_text() == "alice:plain\n"


def test_each_device_gets_its_own_topics_and_stickers_go_to_the_backend() -> None:
    text = acl_text(
        [AclDevice(STATION, "station"), AclDevice(SENSOR, "sensor"), AclDevice("tag-01", "sticker")]
    )
    blocks = {b.splitlines()[0]: b.splitlines()[1:] for b in text.split("\n\n") if "user " in b}
    assert blocks[f"user {STATION}"] == [
        f"topic write pletfri/v1/dev/{STATION}/tap",
        f"topic write pletfri/v1/dev/{STATION}/occupancy",
        f"topic write pletfri/v1/dev/{STATION}/heartbeat",
        f"topic write pletfri/v1/dev/{STATION}/status",
        f"topic read pletfri/v1/dev/{STATION}/ack",
        f"topic read pletfri/v1/dev/{STATION}/need",
        f"topic read pletfri/v1/dev/{STATION}/config",
    ]
    assert "user tag-01" not in text
    backend = next(v for k, v in blocks.items() if k.startswith("# The backend"))
    assert "topic write pletfri/v1/dev/tag-01/tap" in backend
    assert "topic read pletfri/v1/dev/tag-01/ack" in backend
    # No pattern lines: they would give every account, the platform's too, a device's rights.
    assert "pattern" not in text and "simulator" not in text
    assert "user simulator" in acl_text([], simulator=True)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "registry.sqlite"
    with Registry(db) as reg:
        reg.replace(
            RegistryData(
                buildings=[Building(id="b001", name="School", kind="school")],
                rooms=[Room(id="b001-r001", building="b001", type="classroom", area_m2=50)],
                devices=[
                    Device(id=STATION, kind="station", room="b001-r001"),
                    Device(id=SENSOR, kind="sensor", room="b001-r001"),
                ],
            )
        )
    return {
        "PLETFRI_BACKEND__DATABASE_FILE": str(db),
        "PLETFRI_BROKER__PASSWORD_FILE": str(tmp_path / "passwd"),
        "PLETFRI_BROKER__ACL_FILE": str(tmp_path / "acl"),
    }


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["broker", *args], env=env, input=stdin)
    return r.exit_code, r.output


def test_commands_keep_the_files(env: dict[str, str]) -> None:
    pw_file = Path(env["PLETFRI_BROKER__PASSWORD_FILE"])
    code, out = _run(env, "add", STATION)
    assert code == 0, out
    password = out.split("password ")[1].split()[0]
    assert passwords.check_password(password, passwords.read(pw_file)[STATION])
    assert password not in pw_file.read_text()
    code, out = _run(env, "account", "gateway", "--password-stdin", stdin="gw-secret\n")
    assert code == 0 and "gw-secret" not in out
    assert passwords.check_password("gw-secret", passwords.read(pw_file)["gateway"])
    # A login left behind by a device that is no longer registered goes with the sync.
    accounts.set_password(accounts.BrokerSettings(password_file=pw_file), "occ-000000000099", "x")
    code, out = _run(env, "sync")
    assert code == 0, out
    assert "2 registered devices" in out and "occ-000000000099" in out
    assert "1 registered devices have no login yet" in out
    assert set(passwords.read(pw_file)) == {STATION, "gateway"}
    assert f"user {SENSOR}" in Path(env["PLETFRI_BROKER__ACL_FILE"]).read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "nfc-000000000077"), "not in the registry; add it there first"),
        (("add", "Not A Device"), "is not a device id"),
        (("account", "root"), "not a platform account"),
        (("revoke", SENSOR), "has no login"),
        (("reload",), "broker.pid_file is not set"),
        (("add", STATION, "--reload"), "broker.pid_file is not set"),
    ],
)
def test_commands_refuse_with_advice(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, out = _run(env, *args)
    assert code in (1, 2) and message in out, out


def test_reload_names_a_dead_pid(env: dict[str, str], tmp_path: Path) -> None:
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text("999999999\n")
    code, out = _run({**env, "PLETFRI_BROKER__PID_FILE": str(pid_file)}, "reload")
    assert code == 2 and "no process 999999999" in out
