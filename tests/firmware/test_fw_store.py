"""The flash queue survives a power cut at every single write, rename and remove."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pletfri_fw import store as store_mod
from pletfri_fw.osfs import OsFS
from pletfri_fw.store import Store
from pletfri_host.fakes import CuttingFS, PowerCut
from pletfri_host.memfs import MemFS

# Enough appends and pops to pass through rotation and compaction with small thresholds.
OPS: list[tuple[str, int]] = [("boot", 0)]
for i in range(12):
    OPS.append(("append", i))
    if i % 3 == 2:
        OPS.append(("pop", 2))
    if i % 4 == 1:
        OPS.append(("last", i))
    if i == 9:
        OPS.append(("clear", 0))
OPS += [("pop", 100), ("append", 100), ("boot", 0), ("append", 101), ("pop", 1), ("last", 102)]


@pytest.fixture(autouse=True)
def small_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "ROTATE_BYTES", 40)
    monkeypatch.setattr(store_mod, "COMPACT_BYTES", 60)


def payload(i: int) -> bytes:
    return b'{"n": %d}' % i


def contents(s: Store) -> list[int]:
    return [int(s.peek(i)[1][6:-1]) for i in range(len(s))]


class Run:
    """What OPS did before the power failed."""

    def __init__(self) -> None:
        self.appended: list[int] = []
        self.popped = 0
        self.boots = 0
        self.last: int | None = None  # the latest-only record put and not cleared
        self.cut: tuple[str, int] | None = None


def run(fs: Any) -> Run:
    """Apply OPS until the power fails."""
    r = Run()
    try:
        s = Store(fs)
    except PowerCut:
        r.cut = ("open", 0)
        return r
    for op in OPS:
        try:
            if op[0] == "last":
                s.put_last("heartbeat", payload(op[1]))
                r.last = op[1]
            elif op[0] == "clear":
                s.clear_last(s.last_gen)
                r.last = None
            elif op[0] == "boot":
                s.begin_boot()
                r.boots += 1
            elif op[0] == "append":
                s.append("tap", payload(op[1]))
                r.appended.append(op[1])
            else:
                n = min(op[1], len(s))
                s.pop(n)
                r.popped += n
        except PowerCut:
            r.cut = op
            return r
    return r


def last_value(s: Store) -> int | None:
    last = s.last()
    assert s.has_last() == (last is not None)
    return None if last is None else int(last[1][6:-1])


def check_recovery(base: Any, cut_at: int) -> bool:
    r = run(CuttingFS(base, cut_at))
    appended, popped, boots, cut = r.appended, r.popped, r.boots, r.cut
    s = Store(base)
    got = contents(s)
    waiting = appended[popped:]
    # The latest-only record is the old one or the new one, never a torn one.
    lasts = [r.last]
    if cut and cut[0] == "last":
        lasts.append(cut[1])
    if cut and cut[0] == "clear":
        lasts.append(None)
    assert last_value(s) in lasts, f"power cut at change {cut_at} during {cut}"
    allowed = [waiting]
    if cut and cut[0] == "append":
        allowed.append([*waiting, cut[1]])
    if cut and cut[0] == "pop":
        allowed.append(waiting[min(cut[1], len(waiting)) :])
    assert got in allowed, f"power cut at change {cut_at} during {cut}: {got} not in {allowed}"
    assert s.boot in (boots, boots + 1) if cut and cut[0] == "boot" else s.boot == boots
    # The recovered store goes on working: a new message lands after the old ones.
    s.append("tap", payload(999))
    assert contents(Store(base)) == [*got, 999]
    return cut is None


def test_power_cut_at_every_change_in_memory() -> None:
    cut_at = 1
    while not check_recovery(MemFS(), cut_at):
        cut_at += 1
    assert cut_at > 30  # the sweep really went through every step ...
    fs = MemFS()
    run(fs)
    assert Store(fs).gen >= 3  # ... including log rotations and compactions


def test_power_cut_at_every_change_on_real_files(tmp_path: Path) -> None:
    cut_at = 1
    while not check_recovery(OsFS(str(tmp_path / f"cut{cut_at}")), cut_at):
        cut_at += 1


def test_torn_last_record_is_dropped_and_appends_follow(tmp_path: Path) -> None:
    fs = OsFS(str(tmp_path))
    s = Store(fs)
    s.append("tap", payload(1))
    s.append("tap", payload(2))
    log = tmp_path / store_mod.log_name(s.gen)
    log.write_bytes(log.read_bytes()[:-3])
    s = Store(fs)
    assert contents(s) == [1]
    s.append("tap", payload(3))
    assert contents(Store(fs)) == [1, 3]


def test_full_queue_drops_the_oldest_and_counts() -> None:
    fs = MemFS()
    s = Store(fs, max_items=3)
    for i in range(5):
        s.append("tap", payload(i))
    assert contents(s) == [2, 3, 4]
    assert Store(fs, max_items=3).drops == 2


def test_oversized_message_is_refused_with_the_reason() -> None:
    with pytest.raises(store_mod.TooBig, match="over the 600-byte limit"):
        Store(MemFS()).append("tap", b"x" * 700)
    with pytest.raises(store_mod.TooBig, match="over the 600-byte limit"):
        Store(MemFS()).put_last("heartbeat", b"x" * 700)


def test_latest_only_record_replaces_and_survives_a_restart() -> None:
    fs = MemFS()
    s = Store(fs)
    assert not s.has_last() and s.last() is None
    s.put_last("heartbeat", payload(1))
    sent = s.last_gen  # in flight when the next one is put
    s.put_last("heartbeat", payload(2))
    assert len(s) == 0  # not in the queue: "queue" in a heartbeat counts events only
    s.clear_last(sent)  # the PUBACK of the replaced one clears nothing
    again = Store(fs)
    assert again.has_last() and again.last() == ("heartbeat", payload(2))
    again.clear_last(again.last_gen)
    assert not Store(fs).has_last() and "q.last" not in fs.files


def test_log_stays_small_under_steady_traffic() -> None:
    fs = MemFS()
    s = Store(fs)
    for i in range(2000):
        s.append("tap", payload(i))
        if i % 5 == 4:
            s.pop(5)
    assert max(len(v) for v in fs.files.values()) <= store_mod.ROTATE_BYTES + 100
    assert len(fs.files) <= 2
