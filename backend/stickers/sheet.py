"""The installer's programming sheet: per sticker, what to write to its NTAG 424 DNA.

The NDEF file (file 02) holds one URI record whose URL has placeholders (zeros) where the
tag mirrors its encrypted PICCData and its SDMMAC on every read. The offsets count bytes
from the start of the file: NLEN (2), the record header D1 01 <length> 55 (4), the URI
identifier code (1), then the URL's remaining characters.
"""

from __future__ import annotations

import csv
import html
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from backend.stickers import keys
from backend.stickers.taps import PARAM_CMAC, PARAM_PICC, PATH

NDEF_FILE = 2
NDEF_FILE_SIZE = 256
# URI identifier codes of the NFC Forum URI record type: the prefix the tag does not store.
URI_PREFIXES = {"https://": 0x04, "http://": 0x03}
# Bytes before the URL's first stored character: NLEN (2), D1 01 <len> 55 (4), the code (1).
URL_START = 7
# File option: SDM and mirroring enabled (bit 6), plain communication (bits 1..0 = 00).
FILE_OPTION = 0x40
# Access rights of the NDEF file: read free (E), write, read-write and change with key 0.
ACCESS = {"read": 0xE, "write": 0x0, "read_write": 0x0, "change": 0x0}
# SDM options: UID mirror (bit 7), SDMReadCtr mirror (bit 6), ASCII encoding (bit 0).
SDM_OPTIONS = 0xC1
# SDM access rights: PICCData with key 2 (meta read), SDMMAC with key 1 (file read);
# reading the counter with GetFileCounters is not allowed (F).
SDM_ACCESS = {"meta_read": keys.KEY_META_READ, "file_read": keys.KEY_FILE_READ, "ctr_ret": 0xF}


class SheetError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Layout:
    """The NDEF file of every sticker of one installation, and where the mirrors go."""

    url_template: str
    ndef_file: bytes
    picc_offset: int
    mac_offset: int

    @property
    def mac_input_offset(self) -> int:
        # At the MAC itself: the MAC covers no file data, only UID and counter (via SV2).
        return self.mac_offset

    def change_file_settings(self) -> str:
        """ChangeFileSettings' command data for file 02, as sent."""
        return file_settings(self.picc_offset, self.mac_input_offset, self.mac_offset).hex().upper()


def file_settings(
    picc_offset: int,
    mac_input_offset: int,
    mac_offset: int,
    meta_read: int = SDM_ACCESS["meta_read"],
    file_read: int = SDM_ACCESS["file_read"],
    ctr_ret: int = SDM_ACCESS["ctr_ret"],
) -> bytes:
    """ChangeFileSettings' data: FileOption, AccessRights (read|write, read-write|change
    nibbles, least significant byte first), SDMOptions, SDMAccessRights (RFU|SDMCtrRet,
    SDMMetaRead|SDMFileRead), the three offsets (3 bytes each, least significant first)."""
    access = (ACCESS["read"] << 12) | (ACCESS["write"] << 8)
    access |= (ACCESS["read_write"] << 4) | ACCESS["change"]
    data = bytes([FILE_OPTION]) + access.to_bytes(2, "little") + bytes([SDM_OPTIONS])
    data += bytes([0xF0 | ctr_ret, (meta_read << 4) | file_read])
    for offset in (picc_offset, mac_input_offset, mac_offset):
        data += offset.to_bytes(3, "little")
    return data


def layout(base_url: str) -> Layout:
    """The NDEF file for stickers pointing at `base_url` (stickers.base_url)."""
    base = base_url.rstrip("/")
    try:
        return url_layout(f"{base}{PATH}?{PARAM_PICC}={{picc}}&{PARAM_CMAC}={{cmac}}")
    except SheetError as e:
        raise SheetError(f"stickers.base_url {base_url!r}: {e}") from None


def url_layout(template: str) -> Layout:
    """The NDEF file for a URL template with ``{picc}`` and ``{cmac}`` where the mirrors go."""
    code, rest = 0x00, template
    for prefix, c in URI_PREFIXES.items():
        if template.startswith(prefix):
            code, rest = c, template[len(prefix) :]
            break
    if code == 0x00 or not rest.isascii() or any(ch in rest for ch in " \"'<>"):
        raise SheetError(
            "give an https:// (or http://) address in plain ASCII, e.g. https://pletfri.example.dk"
        )
    picc = URL_START + rest.index("{picc}")
    rest = rest.replace("{picc}", "0" * 32, 1)
    mac = URL_START + rest.index("{cmac}")
    rest = rest.replace("{cmac}", "0" * 16, 1)
    payload = bytes([code]) + rest.encode()
    if len(payload) > 255:
        raise SheetError(f"too long for a sticker's URL ({len(payload)} bytes, at most 255)")
    record = bytes([0xD1, 0x01, len(payload), 0x55]) + payload
    ndef = len(record).to_bytes(2, "big") + record
    return Layout(template, ndef, picc, mac)


@dataclass(frozen=True, slots=True)
class SheetRow:
    building: str
    room: str
    room_name: str
    device: str
    keys: keys.TagKeys


COLUMNS = (
    "building", "room", "room_name", "tag_id", "uid", "ndef_file", "ndef_hex", "file_option",
    "access_rights", "sdm_options", "sdm_meta_read_key", "sdm_file_read_key",
    "sdm_ctr_ret", "picc_data_offset", "sdm_mac_input_offset", "sdm_mac_offset",
    "change_file_settings_hex", "url_template", "key_generation",
    "key0_app_master", "key1_sdm_file_read", "key2_sdm_meta_read", "key3", "key4",
)  # fmt: skip


def _csv_rows(rows: Iterable[SheetRow], lay: Layout) -> list[list[str | int]]:
    out: list[list[str | int]] = []
    for r in rows:
        out.append([
            r.building, r.room, r.room_name, r.device, r.keys.uid.hex().upper(), NDEF_FILE,
            lay.ndef_file.hex().upper(), f"{FILE_OPTION:02X}", "read E, write 0, RW 0, change 0",
            f"{SDM_OPTIONS:02X}", SDM_ACCESS["meta_read"], SDM_ACCESS["file_read"], "F",
            lay.picc_offset, lay.mac_input_offset, lay.mac_offset, lay.change_file_settings(),
            lay.url_template, r.keys.generation, *(k.hex().upper() for k in r.keys.keys),
        ])  # fmt: skip
    return out


def _private(path: Path) -> None:
    # The sheet holds keys: readable by its owner only.
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)


def write_csv(rows: list[SheetRow], lay: Layout, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _private(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(_csv_rows(rows, lay))


def write_html(rows: list[SheetRow], lay: Layout, path: Path, title: str) -> None:
    e = html.escape
    tags = []
    for r in rows:
        k = [x.hex().upper() for x in r.keys.keys]
        tags.append(
            f"<section><h2>{e(r.room_name or r.room)} <small>({e(r.room)})</small></h2>"
            f"<p>Tag <code>{e(r.device)}</code>, UID <code>{r.keys.uid.hex().upper()}</code>, "
            f"key generation {r.keys.generation}</p><table>"
            f"<tr><th>key 0 (application master)</th><td><code>{k[0]}</code></td></tr>"
            f"<tr><th>key 1 (SDM file read, CMAC)</th><td><code>{k[1]}</code></td></tr>"
            f"<tr><th>key 2 (SDM meta read, same on every sticker)</th>"
            f"<td><code>{k[2]}</code></td></tr>"
            f"<tr><th>key 3</th><td><code>{k[3]}</code></td></tr>"
            f"<tr><th>key 4</th><td><code>{k[4]}</code></td></tr></table></section>"
        )
    settings = [
        ("NDEF file", f"{NDEF_FILE:02X} (E104)"),
        ("NDEF file content (hex, write from offset 0)", lay.ndef_file.hex().upper()),
        ("URL template", lay.url_template),
        ("File option", f"{FILE_OPTION:02X}: SDM and mirroring enabled, plain communication"),
        ("Access rights", "read E (free), write 0, read-write 0, change 0 (key 0)"),
        ("SDM options", f"{SDM_OPTIONS:02X}: UID mirror, SDMReadCtr mirror, ASCII encoding"),
        ("SDM meta read key (PICCData)", f"key {SDM_ACCESS['meta_read']}, encrypted"),
        ("SDM file read key (SDMMAC)", f"key {SDM_ACCESS['file_read']}"),
        ("SDM counter retrieval", "F (not allowed)"),
        ("PICCDataOffset", f"{lay.picc_offset} (0x{lay.picc_offset:02X})"),
        ("SDMMACInputOffset", f"{lay.mac_input_offset} (0x{lay.mac_input_offset:02X})"),
        ("SDMMACOffset", f"{lay.mac_offset} (0x{lay.mac_offset:02X})"),
        ("ChangeFileSettings data (hex, as sent)", lay.change_file_settings()),
    ]
    rows_html = "".join(
        f"<tr><th>{e(a)}</th><td><code>{e(b)}</code></td></tr>" for a, b in settings
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:1rem auto}}
th{{text-align:left;padding-right:1rem;vertical-align:top}}code{{word-break:break-all}}
section{{border-top:1px solid #888;margin-top:1rem;break-inside:avoid}}</style></head><body>
<h1>{e(title)}</h1>
<p><strong>Confidential: this sheet holds the stickers' keys.</strong> Destroy it when the
stickers are programmed; it can be made again from the registry at any time.
Steps: docs/stickers.md, "Programming a sticker".</p>
<h2>The same for every sticker</h2><table>{rows_html}</table>
{"".join(tags)}
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    _private(path)
    path.write_text(page, encoding="utf-8")
