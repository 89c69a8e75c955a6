"""Drain the spool into InfluxDB in order: batches by size and age, gzip, retries.

A batch is written when the spool holds `batch_lines` lines or its oldest line has
waited `batch_interval_s`. A network error or a 5xx is retried with exponential
backoff for as long as it takes (the spool keeps the points meanwhile); a 4xx means
InfluxDB refuses the data itself, so the batch is quarantined and the flow goes on.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time

import httpx
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential,
)

from gateway.spool import Chunk, Spool
from gateway.stats import Stats
from pletfri.influx import Influx

log = logging.getLogger(__name__)


class Transient(Exception):
    """InfluxDB is unreachable or failing; worth another try."""


class Refused(Exception):
    """InfluxDB refused the data (4xx): retrying would fail the same way."""


class Writer(threading.Thread):
    def __init__(
        self,
        spool: Spool,
        influx: Influx,
        stats: Stats,
        batch_lines: int,
        batch_interval_s: float,
        retry_max_s: float,
    ) -> None:
        super().__init__(name="gateway-writer", daemon=True)
        self.spool = spool
        self.influx = influx
        self.stats = stats
        self.batch_lines = batch_lines
        self.batch_interval_ms = int(batch_interval_s * 1000)
        self.retry_max_s = retry_max_s
        self.wake = threading.Event()
        self._halt = threading.Event()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop retrying, then try once to write what is left (the spool keeps the rest)."""
        self._halt.set()
        self.wake.set()
        self.join(timeout)
        try:
            while self.spool.lines:
                self.write(self.spool.oldest(self.batch_lines))
        except (Transient, OSError) as e:
            log.info("%d lines stay in the spool for the next start: %s", self.spool.lines, e)

    def run(self) -> None:
        while not self._halt.is_set():
            if not self.spool.lines:
                self.wake.wait(self.batch_interval_ms / 1000)
                self.wake.clear()
                continue
            chunks = self.spool.oldest(self.batch_lines)
            if not chunks:
                continue
            lines = sum(c.lines for c in chunks)
            age_ms = int(time.time() * 1000) - chunks[0].created_ms
            if lines < self.batch_lines and age_ms < self.batch_interval_ms:
                # Wait for a full batch (the committer wakes us) or for the oldest line's time.
                self.wake.wait((self.batch_interval_ms - age_ms) / 1000)
                self.wake.clear()
                chunks = self.spool.oldest(self.batch_lines)
            try:
                self._write_retrying(chunks)
            except RetryError:
                return  # stopping; the spool keeps the batch for the next start

    def _write_retrying(self, chunks: list[Chunk]) -> None:
        for attempt in Retrying(
            retry=retry_if_exception_type(Transient),
            wait=wait_exponential(multiplier=0.1, max=self.retry_max_s),
            stop=stop_when_event_set(self._halt),
            sleep=self._halt.wait,
            before_sleep=self._log_retry,
        ):
            with attempt:
                self.write(chunks)

    def _log_retry(self, state: RetryCallState) -> None:
        self.stats.write_errors += 1
        wait = state.next_action.sleep if state.next_action else 0
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "InfluxDB write failed (attempt %d, %d lines held in the spool), "
            "retrying in %.1f s: %s",
            state.attempt_number,
            self.spool.lines,
            wait,
            exc,
        )

    def write(self, chunks: list[Chunk]) -> None:
        """One attempt; on success the chunks leave the spool."""
        body = b"\n".join(c.body for c in chunks) + b"\n"
        t0 = time.perf_counter()
        try:
            r = self.influx.http.post(
                "/write",
                params={"db": self.influx.settings.database, "precision": "ms"},
                content=gzip.compress(body, compresslevel=1),
                headers={"Content-Type": "text/plain; charset=utf-8", "Content-Encoding": "gzip"},
            )
        except httpx.HTTPError as e:
            raise Transient(f"InfluxDB at {self.influx.settings.url} unreachable: {e}") from e
        ms = (time.perf_counter() - t0) * 1000
        lines = sum(c.lines for c in chunks)
        if r.status_code == 204:
            self.spool.delete(chunks)
            self.stats.stored += lines
        elif 400 <= r.status_code < 500 and r.status_code not in (401, 403, 404, 408, 429):
            # Bad data: keep it aside for a person, let the points behind it through.
            error = f"{r.status_code}: {r.text.strip()[:500]}"
            self.spool.quarantine(chunks, error)
            self.stats.quarantined += lines
            log.error(
                "InfluxDB refused %d lines (kept in %s, table quarantine): %s",
                lines,
                self.spool.path,
                error,
            )
        else:
            # 5xx, or a setup problem (credentials, missing database) a person can fix:
            # keep the points and try again.
            raise Transient(f"InfluxDB write returned {r.status_code}: {r.text.strip()[:300]}")
        self.stats.write_batches += 1
        self.stats.write_ms_last = ms
        self.stats.write_ms_max = max(self.stats.write_ms_max, ms)
