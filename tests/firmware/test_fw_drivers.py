"""Drivers against byte-exact frames from the datasheets, including corrupt and truncated
ones: NXP PN532 (UM0701-02 section 6.2) and Hi-Link LD2410 (serial protocol V1.02)."""

from __future__ import annotations

import pytest

from pletfri_fw import ld2410, pn532

# UM0701-02 examples: GetFirmwareVersion and its answer (PN532, v1.6, supports 7).
GET_FW = bytes.fromhex("0000ff02fed4022a00")
FW_REPLY = bytes.fromhex("0000ff06fad50332010607e800")
SAM = bytes.fromhex("0000ff05fbd414011401 0200".replace(" ", ""))
LIST = bytes.fromhex("0000ff04fcd44a0100e100")
# InListPassiveTarget answer: one ISO 14443A target, SENS_RES 0004, SEL_RES 08, UID 4 bytes.
TARGET = bytes.fromhex("0000ff0cf4d54b01010004080404a1b2c3") + bytes([0]) + b"\x00"


def with_dcs(frame: bytes) -> bytes:
    body = frame[5:-2]
    return frame[:-2] + bytes([(-sum(body)) & 0xFF, 0])


def test_pn532_command_frames_match_the_manual() -> None:
    assert pn532.command(pn532.GET_FIRMWARE_VERSION) == GET_FW
    assert pn532.command(pn532.SAM_CONFIGURATION, b"\x01\x14\x01") == SAM
    assert pn532.command(pn532.IN_LIST_PASSIVE_TARGET, b"\x01\x00") == LIST


def test_pn532_parses_answers() -> None:
    assert pn532.parse(FW_REPLY) == bytes.fromhex("0332010607")
    target = with_dcs(TARGET)
    assert pn532.parse_target(pn532.parse(target)) == bytes.fromhex("04a1b2c3")
    assert pn532.parse_target(pn532.parse(with_dcs(bytes.fromhex("0000ff03fdd54b0000 00")))) is None


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (FW_REPLY[:-4], "truncated"),
        (FW_REPLY[:3], "truncated before LEN"),
        (FW_REPLY[:3] + b"\x06\xfb" + FW_REPLY[5:], "length checksum"),
        (FW_REPLY[:-2] + b"\xe9\x00", "data checksum"),
        (FW_REPLY[:6] + b"\x04" + FW_REPLY[7:], "data checksum"),
        (GET_FW, "TFI d4"),
        (pn532.ACK, "an ACK frame"),
        (b"\x01\x02\x03", "no start code"),
    ],
)
def test_pn532_rejects_corrupt_and_truncated_frames(frame: bytes, why: str) -> None:
    with pytest.raises(pn532.FrameError, match=why):
        pn532.parse(frame)


def test_pn532_rejects_bad_target_records() -> None:
    short_uid = with_dcs(bytes.fromhex("0000ff0cf4d54b01010004080704a1b2c3") + b"\x00\x00")
    with pytest.raises(pn532.FrameError, match="UID of 7 bytes"):
        pn532.parse_target(pn532.parse(short_uid))
    with pytest.raises(pn532.FrameError, match="not an InListPassiveTarget"):
        pn532.parse_target(b"\x03\x32")


class FakePn532I2C:
    """The PN532's side of I2C: a status byte (01 = ready) before every read."""

    def __init__(self, replies: dict[int, bytes]) -> None:
        self.replies = replies
        self.written: list[bytes] = []
        self.pending: list[bytes] = []

    def writeto(self, addr: int, data: bytes) -> None:
        assert addr == pn532.I2C_ADDR
        self.written.append(bytes(data))
        self.pending = [pn532.ACK, self.replies[data[6]]]

    def readfrom(self, addr: int, n: int) -> bytes:
        if n == 1:
            return b"\x01" if self.pending else b"\x00"
        return (b"\x01" + self.pending.pop(0) + bytes(n))[:n]


def test_pn532_driver_reads_a_uid_over_i2c() -> None:
    replies = {
        pn532.GET_FIRMWARE_VERSION: FW_REPLY,
        pn532.SAM_CONFIGURATION: pn532.frame(b"\x15", pn532.TFI_PN532),
        pn532.RF_CONFIGURATION: pn532.frame(b"\x33", pn532.TFI_PN532),
        pn532.IN_LIST_PASSIVE_TARGET: with_dcs(TARGET),
    }
    bus = FakePn532I2C(replies)
    reader = pn532.PN532(bus, lambda ms: None)
    assert reader.begin() == (0x32, 1, 6)
    assert reader.read_uid() == bytes.fromhex("04a1b2c3")
    assert bus.written[1] == SAM and bus.written[-1] == LIST
    # A garbled answer costs one read, not the driver.
    bus.replies[pn532.IN_LIST_PASSIVE_TARGET] = with_dcs(TARGET)[:-5]
    assert reader.read_uid() is None and reader.errors == 1


# LD2410 report frames: engineering mode off (type 02), and on (type 01, with per-gate
# energies that the parser skips).
BASIC = bytes.fromhex("f4f3f2f10d0002aa0251000000003b00005500f8f7f6f5")
NO_TARGET = bytes.fromhex("f4f3f2f10d0002aa0000000000000000005500f8f7f6f5")
ENGINEERING = bytes.fromhex(
    "f4f3f2f1230001aa031e003c1e002864000808" + "3c" * 9 + "28" * 9 + "0000" + "5500" + "f8f7f6f5"
)


def test_ld2410_parses_basic_and_engineering_reports() -> None:
    p = ld2410.Parser()
    (basic,) = p.feed(BASIC)
    assert basic.as_tuple() == (2, 0x51, 0, 0, 0x3B, 0)
    (eng,) = p.feed(ENGINEERING)
    assert eng.as_tuple() == (3, 30, 60, 30, 40, 100)
    (none,) = p.feed(NO_TARGET)
    assert none.state == ld2410.NO_TARGET and p.bad == 0


@pytest.mark.parametrize(
    "garbage",
    [
        BASIC[:-1] + b"\x00",  # footer broken
        BASIC[:6] + b"\x03" + BASIC[7:],  # unknown data type
        BASIC[:7] + b"\xab" + BASIC[8:],  # head byte
        BASIC[:-6] + b"\x54\x00" + BASIC[-4:],  # tail byte
        BASIC[:4] + b"\xff\x00" + BASIC[6:],  # length far too long
        BASIC[:6] + b"\x02\xaa\x07" + BASIC[9:],  # target state out of range
    ],
)
def test_ld2410_skips_corrupt_frames_and_resyncs(garbage: bytes) -> None:
    p = ld2410.Parser()
    reps = p.feed(garbage + BASIC)
    assert [r.as_tuple() for r in reps] == [(2, 0x51, 0, 0, 0x3B, 0)]
    assert p.bad >= 1


def test_ld2410_truncated_frame_waits_for_the_rest() -> None:
    p = ld2410.Parser()
    counts = [len(p.feed(BASIC[i : i + 1])) for i in range(len(BASIC))]
    assert counts == [0] * (len(BASIC) - 1) + [1]
    assert p.feed(BASIC[:10]) == [] and len(p.feed(BASIC[10:])) == 1


def test_presence_meter_counts_only_while_reports_arrive() -> None:
    p = ld2410.Parser()
    (present,) = p.feed(BASIC)
    (absent,) = p.feed(NO_TARGET)
    m = ld2410.PresenceMeter(max_gap_ms=2000)
    m.report(present, 0)
    m.report(present, 1500)
    m.report(present, 60_000)  # the radar was silent for a minute: at most 2 s of it count
    m.report(absent, 61_000)
    m.report(absent, 90_000)
    assert m.take_seconds() == 4
    assert m.take_seconds() == 0
