"""MFRC522 driver against a register-level fake of the chip with an ISO 14443-3 type A card
in its field: SPI address bytes, CRC_A, 4- and 7-byte UIDs, corrupt answers."""

from __future__ import annotations

import pytest

from pletfri_fw import mfrc522 as m


def test_spi_address_bytes_and_crc_a() -> None:
    # Datasheet 8.1.2.3: MSB 1 = read, then the address, LSB 0.
    assert m.address(m.VERSION, True) == 0xEE
    assert m.address(m.COMMAND, False) == 0x02
    assert m.address(m.FIFO_DATA, True) == 0x92
    # ISO/IEC 14443-3 Annex B examples, and the HLTA command's well-known CRC.
    assert m.crc_a(b"\x00\x00") == b"\xa0\x1e"
    assert m.crc_a(b"\x12\x34") == b"\x26\xcf"
    assert m.crc_a(b"\x50\x00") == b"\x57\xcd"


class Card:
    def __init__(self, uid: bytes) -> None:
        self.uid = uid
        self.corrupt_bcc = False

    def levels(self) -> list[bytes]:
        if len(self.uid) == 4:
            return [self.uid]
        return [bytes([m.CASCADE_TAG]) + self.uid[:3], self.uid[3:]]

    def answer(self, frame: bytes) -> bytes | None:
        if frame == bytes([m.REQA]):
            return b"\x04\x00" if len(self.uid) == 4 else b"\x44\x00"
        levels = self.levels()
        i = m.SEL.index(frame[0])
        part = levels[i]
        if frame[1] == 0x20:
            bcc = part[0] ^ part[1] ^ part[2] ^ part[3] ^ (1 if self.corrupt_bcc else 0)
            return part + bytes([bcc])
        assert frame[1] == 0x70 and frame[2:6] == part and m.crc_a(frame[:7]) == frame[7:]
        sak = bytes([0x04 if i + 1 < len(levels) else 0x08])
        return sak + m.crc_a(sak)


class FakeChip:
    """The MFRC522's registers behind SPI, enough of them for the driver."""

    def __init__(self, card: Card | None) -> None:
        self.card = card
        self.regs = [0] * 64
        self.regs[m.VERSION] = 0x92  # version 2.0
        self.fifo: list[int] = []
        self.selected = False
        self.frames: list[bytes] = []

    def value(self, v: int) -> None:  # the chip-select pin
        self.selected = v == 0

    def write(self, data: bytes) -> None:
        assert self.selected
        reg, value = (data[0] >> 1) & 0x3F, data[1]
        assert not data[0] & 0x80 and not data[0] & 1
        if reg == m.FIFO_DATA:
            self.fifo.append(value)
        elif reg == m.FIFO_LEVEL and value & 0x80:
            self.fifo = []
        elif reg == m.COM_IRQ:
            self.regs[reg] &= ~value & 0x7F
        else:
            self.regs[reg] = value
        if reg == m.BIT_FRAMING and value & 0x80 and self.regs[m.COMMAND] == m.TRANSCEIVE:
            frame = bytes(self.fifo)
            self.frames.append(frame)
            answer = self.card.answer(frame) if self.card else None
            if answer is None:
                self.regs[m.COM_IRQ] = 0x01  # timer
            else:
                self.fifo = list(answer)
                self.regs[m.COM_IRQ] = 0x30

    def write_readinto(self, out: bytes, into: bytearray) -> None:
        assert self.selected and out[0] & 0x80
        reg = (out[0] >> 1) & 0x3F
        if reg == m.FIFO_DATA:
            into[1] = self.fifo.pop(0)
        elif reg == m.FIFO_LEVEL:
            into[1] = len(self.fifo)
        else:
            into[1] = self.regs[reg]


def reader(card: Card | None) -> tuple[m.MFRC522, FakeChip]:
    chip = FakeChip(card)
    r = m.MFRC522(chip, chip, lambda ms: None)
    assert r.begin() == 0x92
    assert chip.regs[m.TX_CONTROL] & 0x03  # antenna on
    return r, chip


@pytest.mark.parametrize("uid", ["04a1b2c3", "04a1b2c3d4e5f6"])
def test_reads_4_and_7_byte_uids(uid: str) -> None:
    r, chip = reader(Card(bytes.fromhex(uid)))
    assert r.read_uid() == bytes.fromhex(uid)
    assert chip.frames[0] == b"\x26" and chip.frames[1] == b"\x93\x20"
    assert len(chip.frames) == (3 if len(uid) == 8 else 5)


def test_no_card_and_corrupt_answer() -> None:
    r, _ = reader(None)
    assert r.read_uid() is None and r.errors == 0
    card = Card(bytes.fromhex("04a1b2c3"))
    card.corrupt_bcc = True
    r, _ = reader(card)
    assert r.read_uid() is None and r.errors == 1
    with pytest.raises(m.CardError, match="expected 5"):
        m.check_bcc(b"\x01\x02\x03")
