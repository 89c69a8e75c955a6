# A card held on the reader, or tapped twice in a row, counts once: the same UID
# within `window_ms` of its last read is ignored, and every read extends the window.


class Debouncer:
    def __init__(self, window_ms=3000):
        self.window_ms = window_ms
        self._uid = None
        self._at = 0

    def accept(self, uid, now_ms):
        same = uid == self._uid and now_ms - self._at < self.window_ms
        self._uid = uid
        self._at = now_ms
        return not same
