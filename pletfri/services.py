"""Run real Mosquitto and InfluxDB servers as child processes on free loopback ports.

Used by the demo, the benchmarks and the tests. Each server gets its configuration,
data and log in a folder of its own under the run folder; the runner writes the
configuration itself, so credentials and an ACL can be added to Mosquitto's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pletfri.settings import Settings, as_environment

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A server could not be started; the message says why and what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _find_binary(name: str, package: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise ServiceError(
            f"'{name}' was not found on PATH; install it with `apt-get install {package}` "
            "(the Makefile does this for you: `make test` or `make demo`)"
        )
    return path


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """One child server process; `start` and `stop` are idempotent."""

    name: str
    dir: Path
    # The executable's name, looked up on PATH (and in /usr/sbin, where Debian puts mosquitto).
    binary: str = ""
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_file(self) -> Path:
        return self.dir / f"{self.name}.log"

    def _spawn(self, argv: list[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        out = self.log_file.open("ab")
        # A new session: Ctrl-C in the terminal reaches us, and we stop the child in order.
        self.proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True
        )
        out.close()

    def _wait(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with code {self.proc.returncode} while starting; "
                    f"its log says:\n{self.tail_log()}"
                )
            if ready():
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceError(
            f"{self.name} did not answer within {timeout:.0f} s; log:\n{self.tail_log()}"
        )

    def tail_log(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", self.name, timeout)
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """Stop without a chance to save anything, as a power cut would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@dataclass(frozen=True)
class TlsListener:
    """A second listener speaking MQTT over TLS with this certificate and key."""

    cert_file: Path
    key_file: Path
    port: int = 0
    # The devices' listener: a client's id becomes its user name, so a device cannot take
    # over (disconnect) another client by connecting with that client's id.
    username_as_clientid: bool = True


@dataclass
class Mosquitto(Server):
    port: int = 0
    tcp_nodelay: bool = True
    # With a password file, every client must log in (no anonymous access); with an ACL,
    # it may only use the topics granted to it (`pletfri broker`, docs/broker.md).
    password_file: Path | None = None
    acl_file: Path | None = None
    tls: TlsListener | None = None
    # Extra configuration lines, appended verbatim.
    extra: list[str] = field(default_factory=list)

    @property
    def config_file(self) -> Path:
        return self.dir / "mosquitto.conf"

    @property
    def pid_file(self) -> Path:
        return self.dir / "mosquitto.pid"

    @property
    def tls_port(self) -> int:
        return self.tls.port if self.tls else 0

    def write_config(self) -> None:
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'false' if self.password_file else 'true'}",
            f"pid_file {self.pid_file}",
            "persistence true",
            f"persistence_location {data}/",
            # The gateway's persistent session must hold everything published while
            # it is away: Mosquitto's default of 1000 queued messages would drop the rest.
            "max_queued_messages 2000000",
            "max_inflight_messages 0",
            # Without it each small reply (a tap's ack) waits ~40 ms for Nagle's algorithm.
            f"set_tcp_nodelay {'true' if self.tcp_nodelay else 'false'}",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages false",
        ]
        if os.geteuid() == 0:
            # Run as root, Mosquitto would switch to user "mosquitto", which cannot
            # write this run folder.
            lines.append("user root")
        if self.password_file:
            lines.append(f"password_file {self.password_file.resolve()}")
        if self.acl_file:
            lines.append(f"acl_file {self.acl_file.resolve()}")
        if self.tls:
            # Settings after a `listener` line belong to that listener.
            lines += [
                f"listener {self.tls.port} 127.0.0.1",
                f"certfile {self.tls.cert_file.resolve()}",
                f"keyfile {self.tls.key_file.resolve()}",
            ]
            if self.tls.username_as_clientid:
                lines.append("use_username_as_clientid true")
        self.config_file.write_text("\n".join([*lines, *self.extra]) + "\n")

    def start(self, timeout: float = 15.0) -> Mosquitto:
        if self.running:
            return self
        binary = _find_binary(self.binary or "mosquitto", "mosquitto")
        if not self.port:
            self.port = free_port()
        elif _port_open(self.port):
            raise ServiceError(
                f"port {self.port} on 127.0.0.1 is taken; pick another port or leave it "
                "at 0 for a free one"
            )
        if self.tls and not self.tls.port:
            self.tls = dataclasses.replace(self.tls, port=free_port())
        self.write_config()
        self._spawn([binary, "-c", str(self.config_file)])
        self._wait(
            lambda: _port_open(self.port) and _port_open(self.tls_port or self.port), timeout
        )
        log.info(
            "mosquitto listening on 127.0.0.1:%d%s%s",
            self.port,
            f", TLS on {self.tls_port}" if self.tls else "",
            ", logins and ACL on" if self.password_file else "",
        )
        return self

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password file and ACL again."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGHUP)


@dataclass
class InfluxDB(Server):
    port: int = 0
    rpc_port: int = 0
    database: str = "pletfri"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.dir / "influxdb.conf"

    def write_config(self) -> None:
        d = self.dir
        d.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"

[meta]
  dir = "{d}/meta"

[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
  # Fresh data is queried at once by the tests and the demo.
  wal-fsync-delay = "0s"
  index-version = "inmem"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  max-body-size = 0

# The rollups' continuous queries (pletfri/storage.py, `pletfri storage setup`).
[continuous_queries]
  enabled = true
  log-enabled = false
"""
        )

    def _ping(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 30.0) -> InfluxDB:
        if self.running:
            return self
        binary = _find_binary(self.binary or "influxd", "influxdb")
        for attr in ("port", "rpc_port"):
            if not getattr(self, attr):
                setattr(self, attr, free_port())
            elif _port_open(getattr(self, attr)):
                raise ServiceError(
                    f"port {getattr(self, attr)} on 127.0.0.1 is taken; pick another port "
                    "or leave it at 0 for a free one"
                )
        self.write_config()
        self._spawn([binary, "-config", str(self.config_file)])
        self._wait(self._ping, timeout)
        r = httpx.post(
            f"{self.url}/query", params={"q": f'CREATE DATABASE "{self.database}"'}, timeout=10
        )
        if r.status_code != 200:
            raise ServiceError(f"could not create database {self.database}: {r.text}")
        log.info("influxd listening on %s, database %s", self.url, self.database)
        return self


@dataclass
class Stack:
    """Mosquitto and InfluxDB under one run folder."""

    dir: Path
    # Mosquitto's password file and ACL (`pletfri broker`); none: anonymous access.
    password_file: Path | None = None
    acl_file: Path | None = None
    mosquitto: Mosquitto = field(init=False)
    influxdb: InfluxDB = field(init=False)

    def __post_init__(self) -> None:
        self.dir = self.dir.resolve()
        self.mosquitto = Mosquitto(
            "mosquitto",
            self.dir / "mosquitto",
            password_file=self.password_file,
            acl_file=self.acl_file,
        )
        self.influxdb = InfluxDB("influxdb", self.dir / "influxdb")

    def start(self) -> Stack:
        try:
            self.mosquitto.start()
            self.influxdb.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in (self.influxdb, self.mosquitto):
            server.stop()

    def settings_overrides(self) -> dict[str, dict[str, object]]:
        """The settings sections that point a Pletfri part at these servers."""
        return {
            "mqtt": {"host": "127.0.0.1", "port": self.mosquitto.port},
            "influx": {"url": self.influxdb.url, "database": self.influxdb.database},
        }


@contextlib.contextmanager
def running_stack(
    run_dir: Path, password_file: Path | None = None, acl_file: Path | None = None
) -> Iterator[Stack]:
    """Start both servers; stop them on exit, on Ctrl-C and on errors."""
    stack = Stack(run_dir, password_file, acl_file)
    previous = signal.getsignal(signal.SIGTERM)
    # SIGTERM becomes KeyboardInterrupt, so the `finally` below stops the servers.
    if previous is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield stack.start()
    finally:
        stack.stop()
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)


def pletfri_process(s: Settings, args: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    """`pletfri ARGS` in a process of its own, as production runs it: the settings `s`
    through the environment (`env` on top), the output appended to `log`."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("PLETFRI_")}
    child.update(as_environment(s))
    child.update(env)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from pletfri.cli import main; main()", *args],
            env=child,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
