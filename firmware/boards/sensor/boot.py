# Occupancy sensor: the PIR fast path. A wake by the PIR only counts the trigger
# in RTC memory and sleeps again, without Wi-Fi and without importing the rest,
# so that it costs a fraction of a radio wake (docs/firmware.md, energy model).
# After a PIR wake the PIR may not wake the chip again for HOLDOFF_MS: a person
# in the room keeps the PIR high, and each wake costs energy.
import machine

from pletfri_fw import hw_esp32 as hw
from pletfri_fw import pins
from pletfri_fw import sensor_state as ss

HOLDOFF_MS = 60000

if machine.reset_cause() == machine.DEEPSLEEP_RESET:
    rtc = hw.RtcMemory()
    st = ss.unpack(rtc.read())
    now = hw.rtc_now_ms()
    if st is not None and now < st.next_send:
        if hw.woke_by_pin():
            ss.roll(st, now)
            st.motion += 1
            rtc.write(ss.pack(st))
            hw.deep_sleep(min(HOLDOFF_MS, st.next_send - now))
        else:
            # The hold-off ended before the next radio wake: listen to the PIR again.
            hw.deep_sleep(st.next_send - now, pins.SENSOR["pir"])
