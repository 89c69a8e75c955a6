"""NFC stickers (NTAG 424 DNA, SUN messages) for rooms without a check-in station.

The interface the pages call (docs/stickers.md has the whole scheme)::

    from backend.stickers import PATH, PARAM_PICC, PARAM_CMAC, StickerTaps, TapOutcome

    taps = StickerTaps(settings, registry)      # once per process; taps.close() at the end
    outcome = taps.tap(request.query_params, cleaner="p0042", now_ms=now)

- The sticker's URL is ``<stickers.base_url><PATH>?<PARAM_PICC>=<32 hex>&<PARAM_CMAC>=<16 hex>``
  (``/t?picc=...&cmac=...``); the route hands its query parameters over as they came.
- `cleaner` is the logged-in person's registry id; the tap carries their card pseudonym.
- `tap` never raises for any URL. `TapOutcome.result` is one of ``ok`` (recorded; `need`
  is ``clean``/``skip``, or ``unknown`` when the gateway did not answer in time),
  ``stored_offline`` (recorded, kept in the outbox until the broker is back),
  ``unknown_tag``, ``forged``, ``replayed``, ``malformed``, ``unknown_card`` (the cleaner
  has no card). `building`, `room`, `room_name` say where the sticker is (None when the
  URL named no sticker of ours); `message` is a key of `MESSAGES` (texts in da and en);
  `detail` says what was wrong, for logs, not for the page.
- A tap waits up to ``stickers.ack_timeout_s`` (2 s) for the gateway's answer.
- `StickerTaps(...)` raises `MasterKeyError` when ``stickers.master_key`` is not set.
"""

from backend.stickers.keys import MasterKeyError
from backend.stickers.taps import (
    MESSAGES,
    PARAM_CMAC,
    PARAM_PICC,
    PATH,
    RESULTS,
    Need,
    Result,
    StickerTaps,
    TapOutcome,
    device_id,
)

__all__ = [
    "MESSAGES",
    "PARAM_CMAC",
    "PARAM_PICC",
    "PATH",
    "RESULTS",
    "MasterKeyError",
    "Need",
    "Result",
    "StickerTaps",
    "TapOutcome",
    "device_id",
]
