# What the station's light and buzzer say after a tap (PRODUCT.md): recorded and
# "clean", recorded and "skip", unknown card, or stored to send later (amber).
# `led.rgb(r, g, b)` and `buzzer.on()/off()` are the hardware; poll(now_ms) plays
# the beeps and puts the light out, so nothing waits.

OFF = (0, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 64, 255)
RED = (255, 0, 0)
AMBER = (255, 120, 0)
WHITE = (255, 255, 255)

CLEAN = "clean"
SKIP = "skip"
UNKNOWN_CARD = "unknown_card"
QUEUED = "queued"
PENDING = "pending"
BOOT = "boot"

# colour, beeps as (on ms, off ms) pairs
PATTERNS = {
    CLEAN: (GREEN, ((120, 0),)),
    SKIP: (BLUE, ((120, 80), (120, 0))),
    UNKNOWN_CARD: (RED, ((400, 0),)),
    QUEUED: (AMBER, ((60, 60), (60, 0))),
    PENDING: (WHITE, ()),
    BOOT: (WHITE, ((40, 0),)),
}


def for_ack(result, need):
    if result == "unknown_card":
        return UNKNOWN_CARD
    return SKIP if need == "skip" else CLEAN


class Feedback:
    def __init__(self, led, buzzer, show_ms=2500):
        self.led = led
        self.buzzer = buzzer
        self.show_ms = show_ms
        self.showing = None
        self._until = 0
        self._beeps = ()
        self._step = 0
        self._next = 0
        self._on = False

    def show(self, kind, now_ms):
        colour, beeps = PATTERNS[kind]
        self.showing = kind
        self.led.rgb(colour[0], colour[1], colour[2])
        self._until = now_ms + self.show_ms
        self._beeps = beeps
        self._step = 0
        self._next = now_ms
        if self._on:
            self.buzzer.off()
            self._on = False
        self.poll(now_ms)

    def poll(self, now_ms):
        if self.showing is None:
            return
        while now_ms >= self._next and self._step < 2 * len(self._beeps):
            on_ms, off_ms = self._beeps[self._step // 2]
            if self._step % 2 == 0:
                self.buzzer.on()
                self._on = True
                self._next += on_ms
            else:
                self.buzzer.off()
                self._on = False
                self._next += off_ms
            self._step += 1
        if now_ms >= self._until:
            if self._on:
                self.buzzer.off()
                self._on = False
            self.led.rgb(0, 0, 0)
            self.showing = None
