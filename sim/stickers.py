"""Cleaners' phones on the stickers: each tap a real SUN URL, sent through the backend.

Every sticker is emulated with its real keys (derived from the demo's master key and its
UID): a read increments its SDMReadCtr and mirrors the encrypted PICCData and the SDMMAC
into the URL, as the NTAG 424 DNA does. The URL goes to the backend's StickerTaps, as the
cleaner's page would hand it over, and from there through the broker and the gateway.

Planted among them, every school day: a photographed URL sent again later (a replay) and
a URL with an altered CMAC or from a tag whose UID was copied onto another chip (forged).
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from backend.registry import Registry
from backend.stickers import PARAM_CMAC, PARAM_PICC, StickerTaps, keys, sun
from pletfri.settings import Settings
from sim.cleaning import Tap

# Phones tapping at once: the backend answers each after the gateway's ack.
WORKERS = 12
# Planted per school day, in the first buildings' main shift: photographed URLs replayed,
# forged URLs.
REPLAYS_PER_DAY = 3
FORGERIES_PER_DAY = 3
DAY_MS = 86_400_000
# How long after the real tap a photographed URL is tried again.
REPLAY_AFTER_MS = 40 * 60_000


def demo_master_key(seed: int) -> str:
    """The demo's sticker master key (a real installation makes one with `pletfri sticker
    new-master-key`)."""
    return random.Random(f"{seed}:sticker-master").randbytes(16).hex()


@dataclass(frozen=True, slots=True)
class PhoneTap:
    ms: int
    device: str
    cleaner: str
    # "tap" (a real read of the sticker), or a planted "replay" / "forged".
    kind: str
    params: dict[str, str] | None = None


class StickerPhones:
    """Sticker taps of the simulated cleaners, step by step in simulated time."""

    def __init__(self, settings: Settings, seed: int) -> None:
        # The planted fakes are counted in the summary; a warning line for each would cut
        # into the progress bar.
        logging.getLogger("backend.stickers.taps").setLevel(logging.ERROR)
        self.master = keys.parse_master_key(settings.stickers.master_key)
        self.meta_key = keys.meta_read_key(self.master)
        self.registry = Registry(settings.backend.database_file)
        self.taps = StickerTaps(settings, self.registry)
        self.rng = random.Random(f"{seed}:sticker-phones")
        self.counters: dict[str, int] = defaultdict(int)
        self.queue: list[PhoneTap] = []
        self.results: Counter[str] = Counter()
        self.planted: Counter[str] = Counter()
        self.caught: Counter[str] = Counter()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="sticker-phone")
        self._running: list[Future[None]] = []
        self._last: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._planned: Counter[tuple[int, str]] = Counter()

    def close(self) -> None:
        self.join()
        self._pool.shutdown()
        self.taps.close()
        self.registry.close()

    def add(self, taps: list[Tap], plant: bool = False) -> None:
        """One building's shift of taps at stickers; with `plant`, fakes up to the day's."""
        real = [PhoneTap(t.ms, t.station, t.cleaner, "tap") for t in taps]
        self.queue += real
        if not (plant and real):
            return
        day = real[0].ms // DAY_MS
        replays = min(REPLAYS_PER_DAY - self._planned[day, "replay"], len(real))
        forgeries = min(FORGERIES_PER_DAY - self._planned[day, "forged"], len(real))
        self._planned[day, "replay"] += max(replays, 0)
        self._planned[day, "forged"] += max(forgeries, 0)
        if replays > 0:
            for t in self.rng.sample(real, replays):
                self.queue.append(PhoneTap(t.ms + REPLAY_AFTER_MS, t.device, t.cleaner, "replay"))
        if forgeries > 0:
            for t in self.rng.sample(real, forgeries):
                cmac = {PARAM_CMAC: self.rng.randbytes(8).hex().upper()}
                self.queue.append(PhoneTap(t.ms + 60_000, t.device, t.cleaner, "forged", cmac))

    def step(self, t0: int, t1: int) -> None:
        """Start the taps of [t0, t1), each sticker's in order; `join` waits for them."""
        self.join()
        due = sorted((t for t in self.queue if t.ms < t1), key=lambda t: t.ms)
        self.queue = [t for t in self.queue if t.ms >= t1]
        by_device: dict[str, list[PhoneTap]] = defaultdict(list)
        for t in due:
            by_device[t.device].append(t)
        self._running = [self._pool.submit(self._tap_all, ts) for ts in by_device.values()]

    def join(self) -> None:
        for f in self._running:
            f.result()
        self._running = []

    def _tap_all(self, taps: list[PhoneTap]) -> None:
        # One sticker's taps in order, in one thread: its counter only goes up.
        for t in taps:
            self._tap(t)

    def _url(self, device: str, counter: int) -> dict[str, str]:
        uid = bytes.fromhex(device.removeprefix("tag-"))
        picc, cmac = sun.emulate(self.meta_key, keys.file_read_key(self.master, uid), uid, counter)
        return {PARAM_PICC: picc, PARAM_CMAC: cmac}

    def _tap(self, t: PhoneTap) -> None:
        if t.kind == "tap":
            self.counters[t.device] += 1
            params = self._url(t.device, self.counters[t.device])
            self._last[t.device] = params
        elif t.kind == "replay":
            # The URL of the sticker's latest real read, photographed and sent again.
            params = self._last.get(t.device) or self._url(t.device, self.counters[t.device])
        else:
            # A copy of the sticker's UID on another chip: the next counter, but the CMAC
            # cannot be made without the tag's key.
            params = {**self._url(t.device, self.counters[t.device] + 1), **(t.params or {})}
        outcome = self.taps.tap(params, t.cleaner, t.ms)
        expected = {"replay": "replayed", "forged": "forged"}.get(t.kind)
        with self._lock:
            self.results[outcome.result] += 1
            if expected is not None:
                self.planted[t.kind] += 1
                self.caught[t.kind] += outcome.result == expected
