"""Sending what the engine queued: each message tried a few times, failures reported.

Every queued message is sent on its own, so one channel (or one address) that fails
never holds up the others; a message that still fails after `alerts.attempts` tries is
marked failed with its error, logged, and can be queued again with `pletfri alerts retry`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tenacity import Retrying, stop_after_attempt, wait_exponential

from backend.alerts.channels import Channel
from backend.alerts.store import AlertStore
from pletfri.settings import AlertsSettings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Failure:
    item_id: int
    channel: str
    address: str
    error: str


@dataclass(slots=True)
class DeliveryReport:
    sent: dict[str, int] = field(default_factory=dict)
    failed: list[Failure] = field(default_factory=list)


class Outbox:
    def __init__(
        self, settings: AlertsSettings, store: AlertStore, channels: dict[str, Channel]
    ) -> None:
        self.settings = settings
        self.store = store
        self.channels = channels

    def _retrying(self) -> Retrying:
        wait = self.settings.retry_wait_s
        return Retrying(
            stop=stop_after_attempt(self.settings.attempts),
            wait=wait_exponential(multiplier=wait, min=wait, max=max(wait, 30)),
            reraise=True,
        )

    def deliver(self, now_ms: int) -> DeliveryReport:
        report = DeliveryReport()
        for item in self.store.due(now_ms):
            channel = self.channels.get(item.channel)
            if channel is None:
                error = f"channel {item.channel!r} is not enabled (alerts.channels)"
                self.store.mark_failed(item.id, now_ms, 0, error)
                report.failed.append(Failure(item.id, item.channel, item.address, error))
                continue
            retrying = self._retrying()
            try:
                retrying(channel.send, item.address, item.message)
            except Exception as e:  # any failure of this channel; the others go on
                attempts = retrying.statistics.get("attempt_number", self.settings.attempts)
                error = f"{type(e).__name__}: {e}"
                log.error(
                    "alert message %d to %s %s failed after %d tries: %s",
                    item.id,
                    item.channel,
                    item.address,
                    attempts,
                    error,
                )
                self.store.mark_failed(item.id, now_ms, attempts, error)
                report.failed.append(Failure(item.id, item.channel, item.address, error))
            else:
                attempts = retrying.statistics.get("attempt_number", 1)
                self.store.mark_sent(item.id, now_ms, attempts)
                report.sent[item.channel] = report.sent.get(item.channel, 0) + 1
            self.store.db.commit()
        return report
