# Occupancy sensor: the fast path of a wake by the PIR or the door contact. It only
# counts the event in RTC memory and sleeps again, without Wi-Fi and without importing
# the rest, so it costs a fraction of a radio wake (docs/firmware.md, energy model).
# After such a wake neither may wake the chip for a hold-off (sensor_state.HOLDOFF_MS);
# a timer wake then listens again.
import machine

from pletfri_fw import hw_esp32 as hw
from pletfri_fw import pins
from pletfri_fw import sensor_state as ss

if machine.reset_cause() == machine.DEEPSLEEP_RESET:
    rtc = hw.RtcMemory()
    st = ss.unpack(rtc.read())
    now = hw.rtc_now_ms()
    if st is not None and now < st.next_send:
        woke = hw.woke_by()
        if woke is not None:
            ss.count_wake(st, now, woke == "door")
            rtc.write(ss.pack(st))
            hw.deep_sleep(min(ss.HOLDOFF_MS, st.next_send - now))
        else:
            # The hold-off ended before the next radio wake: listen again.
            hw.deep_sleep(st.next_send - now, pins.SENSOR["pir"], pins.SENSOR["door"])
