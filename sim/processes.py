"""The real gateway in a child process of its own, on the demo's simulated clock.

In the demo's process it would share one interpreter lock with the fleet; in its own
process it gets its own core, as in production. The parent moves the shared clock (the
gateway stamps undated events and times out silent sensors by it) and asks for the
gateway's counters over a pipe.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from pletfri.settings import Settings


def _child(settings: Settings, clock: Synchronized, conn: Connection, log_level: str) -> None:
    from gateway.service import Gateway
    from pletfri import logs

    # Ctrl-C reaches the whole process group: the parent decides when the gateway stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs.setup(log_level)
    logging.getLogger("gateway").setLevel(logging.WARNING)
    gw = Gateway(settings, clock=lambda: clock.value)
    gw.start()
    ready = False
    while True:
        if not ready and gw.connected.is_set():
            conn.send(("ready", None))
            ready = True
        if not conn.poll(0.02):
            continue
        cmd = conn.recv()
        if cmd == "stats":
            conn.send(("stats", gw.stats()))
        elif cmd == "stop":
            gw.stop()
            conn.send(("stopped", gw.stats()))
            return


class GatewayProcess:
    def __init__(self, settings: Settings, start_ms: int) -> None:
        ctx = mp.get_context("spawn")
        self.clock = ctx.Value("q", start_ms, lock=False)
        self._conn, child_conn = ctx.Pipe()
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        self.proc = ctx.Process(
            target=_child,
            args=(settings, self.clock, child_conn, level),
            name="pletfri-gateway",
            daemon=True,
        )
        self._last: dict[str, Any] = {}

    def start(self, timeout: float = 30.0) -> None:
        self.proc.start()
        try:
            if self._conn.poll(timeout):
                self._conn.recv()
                return
        except EOFError:
            pass
        self.stop()
        raise RuntimeError(
            f"the gateway did not subscribe within {timeout:.0f} s; see its log lines above"
        )

    def set_clock(self, ms: int) -> None:
        self.clock.value = ms

    def stats(self) -> dict[str, Any]:
        if self.proc.is_alive():
            self._conn.send("stats")
            self._last = self._conn.recv()[1]
        return self._last

    def stop(self, timeout: float = 60.0) -> dict[str, Any]:
        if self.proc.is_alive():
            self._conn.send("stop")
            if self._conn.poll(timeout):
                self._last = self._conn.recv()[1]
            self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
        return self._last
