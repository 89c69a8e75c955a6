# The offline queue on flash: every outgoing event is written here before it is
# sent and removed only after the broker's PUBACK, so a reset or a power cut at
# any point loses nothing (a message may be sent twice; the platform de-duplicates
# on device, boot, seq). It also keeps the boot counter and the drop counter.
#
# Layout (through a filesystem object: OsFS on flash, or in memory):
#   q<gen>.log  records appended one after another: u16 length, u32 CRC-32, body
#               (channel, a space, the payload); a torn last record fails its CRC
#   q.ck        "gen head drops boot crc" as text: the log in use, the offset of the
#               oldest record still waiting, the counters. Replaced by writing q.ck.tmp
#               and renaming it over q.ck, which LittleFS does atomically.
#   q.last      one record (same format) that is not queued but replaced: the newest
#               heartbeat. Health is a state, not an event: after a night offline the
#               platform needs the latest, not 96 old ones ahead of the taps (the morning
#               after an outage, bench/outage_burst.py). Written as q.last.tmp, renamed.
# Removing a record only moves `head`, so a PUBACK costs one small write. When the
# queue is empty or the dead head grows large, the live records move to a new log
# generation (write the new log, switch q.ck, delete the old).
import binascii
import struct

CK = "q.ck"
CK_TMP = "q.ck.tmp"
LAST = "q.last"
LAST_TMP = "q.last.tmp"
_HDR = "<HI"
_HDR_LEN = 6
# An empty queue starts a new log once the old one is this big ...
ROTATE_BYTES = 2048
# ... and a non-empty one moves its live records once this much is dead.
COMPACT_BYTES = 16384


def log_name(gen):
    return "q%d.log" % gen


def encode_record(channel, payload):
    body = channel.encode() + b" " + payload
    return struct.pack(_HDR, len(body), binascii.crc32(body) & 0xFFFFFFFF) + body


def read_record(f):
    """The body of the record at the file's position; None at its end or if torn."""
    hdr = f.read(_HDR_LEN)
    if len(hdr) < _HDR_LEN:
        return None
    n, crc = struct.unpack(_HDR, hdr)
    body = f.read(n)
    if len(body) < n or binascii.crc32(body) & 0xFFFFFFFF != crc:
        return None
    return body


def split_body(body):
    i = body.find(b" ")
    return body[:i].decode(), body[i + 1 :]


def encode_checkpoint(gen, head, drops, boot):
    text = "%d %d %d %d" % (gen, head, drops, boot)
    return ("%s %d" % (text, binascii.crc32(text.encode()) & 0xFFFFFFFF)).encode()


def decode_checkpoint(data):
    """(gen, head, drops, boot), or None if the data is not a whole checkpoint."""
    try:
        parts = data.decode().split(" ")
        if len(parts) != 5:
            return None
        text = " ".join(parts[:4])
        if int(parts[4]) != binascii.crc32(text.encode()) & 0xFFFFFFFF:
            return None
        return tuple(int(p) for p in parts[:4])
    except (ValueError, UnicodeError):
        return None


class TooBig(ValueError):
    pass


class Store:
    def __init__(self, fs, max_items=500, max_bytes=600):
        self.fs = fs
        self.max_items = max_items
        self.max_bytes = max_bytes  # one record's body; CONTRACT.md payloads are <= 1024
        self.gen = 0
        self.drops = 0
        self.boot = 0
        self._offs = []  # file offsets of the waiting records, oldest first
        self._end = 0
        # Counts put_last() calls, so a PUBACK for a replaced record clears nothing.
        self.last_gen = 0
        self._has_last = False
        self._open()

    # --- recovery -------------------------------------------------------------

    def _read_ck(self):
        if self.fs.size(CK) < 0:
            return None
        f = self.fs.open(CK, "rb")
        try:
            return decode_checkpoint(f.read())
        finally:
            f.close()

    def _open(self):
        names = self.fs.listdir()
        if CK_TMP in names:
            self.fs.remove(CK_TMP)  # a checkpoint that was never switched to
        if LAST_TMP in names:
            self.fs.remove(LAST_TMP)  # the old q.last (if any) is still whole
        self._has_last = LAST in names and self.last() is not None
        ck = self._read_ck()
        logs = []
        for n in names:
            if n.startswith("q") and n.endswith(".log"):
                try:
                    logs.append(int(n[1:-4]))
                except ValueError:
                    pass
        if ck is None:
            # No checkpoint yet, or (against LittleFS's promise) a broken one: take the
            # oldest log from its start. Replaying too much is safe; losing is not.
            gen = min(logs) if logs else 0
            head = 0
            self.drops = 0
            self.boot = 0
        else:
            gen, head, self.drops, self.boot = ck
        self.gen = gen
        for g in logs:
            if g != gen:
                self.fs.remove(log_name(g))  # a compaction that did not finish
        size = self._scan(head)
        if size > self._end:
            # A torn last record: rewrite the whole ones, so appends follow them.
            self._move()
        elif ck is None:
            self._write_ck()

    def _scan(self, head):
        self._offs = []
        self._end = head
        size = self.fs.size(log_name(self.gen))
        if size < 0:
            self._end = 0
            return 0
        f = self.fs.open(log_name(self.gen), "rb")
        try:
            f.seek(head)
            off = head
            while True:
                body = read_record(f)
                if body is None:
                    break
                self._offs.append(off)
                off += _HDR_LEN + len(body)
            self._end = off
        finally:
            f.close()
        return size

    # --- the checkpoint and log generations -----------------------------------

    def _head(self):
        return self._offs[0] if self._offs else self._end

    def _write_ck(self):
        f = self.fs.open(CK_TMP, "wb")
        try:
            f.write(encode_checkpoint(self.gen, self._head(), self.drops, self.boot))
            f.flush()
        finally:
            f.close()
        self.fs.rename(CK_TMP, CK)

    def _move(self):
        """Copy the waiting records to a new log generation and switch to it."""
        old = self.gen
        new = old + 1
        offs = []
        end = 0
        if self._offs:
            src = self.fs.open(log_name(old), "rb")
            dst = self.fs.open(log_name(new), "wb")
            try:
                src.seek(self._offs[0])
                left = self._end - self._offs[0]
                base = self._offs[0]
                for o in self._offs:
                    offs.append(o - base)
                while left > 0:
                    chunk = src.read(min(left, 512))
                    dst.write(chunk)
                    left -= len(chunk)
                dst.flush()
                end = self._end - base
            finally:
                src.close()
                dst.close()
        self.gen = new
        self._offs = offs
        self._end = end
        self._write_ck()
        if self.fs.size(log_name(old)) >= 0:
            self.fs.remove(log_name(old))

    # --- the queue ------------------------------------------------------------

    def begin_boot(self):
        """Count one boot (a cold start, not a wake from deep sleep) and return it."""
        self.boot += 1
        self._write_ck()
        return self.boot

    def __len__(self):
        return len(self._offs)

    def _record(self, channel, payload):
        rec = encode_record(channel, payload)
        if len(rec) - _HDR_LEN > self.max_bytes:
            raise TooBig(
                "message of %d bytes is over the %d-byte limit" % (len(rec), self.max_bytes)
            )
        return rec

    def append(self, channel, payload):
        """Write one message durably. A full queue loses its oldest message first."""
        rec = self._record(channel, payload)
        if len(self._offs) >= self.max_items:
            self._offs.pop(0)
            self.drops += 1
            self._write_ck()
        f = self.fs.open(log_name(self.gen), "ab")
        try:
            f.write(rec)
            f.flush()
        finally:
            f.close()
        self._offs.append(self._end)
        self._end += len(rec)

    def peek(self, i):
        """(channel, payload) of the i-th waiting message, 0 being the oldest."""
        off = self._offs[i]
        f = self.fs.open(log_name(self.gen), "rb")
        try:
            f.seek(off)
            n, _ = struct.unpack(_HDR, f.read(_HDR_LEN))
            return split_body(f.read(n))
        finally:
            f.close()

    def pop(self, n=1):
        """Forget the n oldest messages: the broker has them."""
        if n <= 0:
            return
        del self._offs[:n]
        # An empty queue in a big log, or much dead space before the head: start afresh.
        dead = self._end if not self._offs else self._offs[0]
        if dead >= (ROTATE_BYTES if not self._offs else COMPACT_BYTES):
            self._move()
        else:
            self._write_ck()

    # --- the latest-only record -------------------------------------------------

    def put_last(self, channel, payload):
        """Keep this message as the one to send after the queue, replacing the one before."""
        rec = self._record(channel, payload)
        f = self.fs.open(LAST_TMP, "wb")
        try:
            f.write(rec)
            f.flush()
        finally:
            f.close()
        self.fs.rename(LAST_TMP, LAST)
        self.last_gen += 1
        self._has_last = True

    def has_last(self):
        return self._has_last

    def last(self):
        """(channel, payload) of the latest-only record, or None (none, or a torn one)."""
        if self.fs.size(LAST) < 0:
            return None
        f = self.fs.open(LAST, "rb")
        try:
            body = read_record(f)
        finally:
            f.close()
        return None if body is None else split_body(body)

    def clear_last(self, gen):
        """The broker has the latest-only record put as number `gen`; a newer one stays."""
        if gen != self.last_gen or not self._has_last:
            return
        self._has_last = False
        if self.fs.size(LAST) >= 0:
            self.fs.remove(LAST)
