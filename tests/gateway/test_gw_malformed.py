"""Any input at the real broker: the gateway stays up and stores every valid message once.

Hypothesis makes the junk: arbitrary bytes, JSON of the wrong shape, wrong types,
oversize payloads, spoofed and malformed device ids. Between the junk pieces of each
example goes one valid message; at the end every valid one must be in InfluxDB once.
"""

from __future__ import annotations

import itertools
import json
import time

from gwhelpers import SENSORS, STATIONS, Fleet, check_stream, occupancy, wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.service import Gateway
from gateway.validate import Rejected, parse
from pletfri.influx import Influx
from pletfri_fw import contract

json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
members = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 2, "1", None]),
        "boot": st.integers(-5, 2**40) | json_value,
        "seq": st.integers(-5, 2**40) | json_value,
        "ts": st.integers(0, 2**45) | json_value,
        "card": st.text("0123456789abcdefABCDEF", min_size=0, max_size=20) | json_value,
        "periods": st.lists(
            st.dictionaries(
                st.sampled_from(["period_s", "motion", "presence_s", "entries", "ts"]),
                st.integers(-10, 100_000) | json_value,
            ),
            max_size=26,
        )
        | json_value,
        "batt_mv": st.integers(-10, 20_000) | json_value,
        "rssi": st.integers(-300, 10) | json_value,
        "fw": json_value,
    },
)
payloads = st.one_of(
    st.binary(max_size=1100),
    st.binary(min_size=1025, max_size=3000),
    json_value.map(lambda v: json.dumps(v).encode()),
    members.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"online", b"offline", b"", b"{", b"\xff\xfe"]),
)
devices = st.one_of(
    st.sampled_from(SENSORS + STATIONS),
    st.from_regex(r"\A[a-z0-9][a-z0-9-]{2,31}\Z"),  # well formed, not in the registry
    # Any text a broker lets through in a topic: Mosquitto disconnects a publisher for
    # wildcards, control characters and non-characters in a topic name.
    st.text(
        st.characters(blacklist_characters="/#+", blacklist_categories=("Cs", "Cc", "Cn")),
        max_size=40,
    ),
)
channels = st.sampled_from(["tap", "occupancy", "heartbeat", "status", "ack", "x", ""])
junk = st.lists(st.tuples(devices, channels, payloads), min_size=1, max_size=8)


def _counted(topic: str) -> bool:
    """Whether the gateway counts it as received (platform-to-device channels it skips)."""
    parts = contract.parse_topic(topic)
    return not (parts and parts[1] in contract.DOWNLINK)


def _valid(topic: str, payload: bytes) -> bool:
    """Junk that happens to satisfy the contract for a registered device is not junk."""
    try:
        msg = parse(topic, payload, int(time.time() * 1000))
    except Rejected:
        return False
    return msg.device in SENSORS + STATIONS


def test_no_input_stops_the_gateway_or_costs_a_valid_message(
    gateway: Gateway, fleet: Fleet, influx: Influx
) -> None:
    valid = itertools.count()
    counted = [0]

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(junk)
    def throw(pieces: list[tuple[str, str, bytes]]) -> None:
        for device, channel, payload in pieces:
            topic = f"pletfri/v1/dev/{device}/{channel}"
            if _valid(topic, payload):
                continue
            fleet.send(topic, payload)
            counted[0] += _counted(topic)
        i = next(valid)
        fleet.send(
            contract.topic(SENSORS[i % len(SENSORS)], contract.OCCUPANCY), occupancy(1, i, i % 7)
        )
        counted[0] += 1

    throw()
    fleet.flush()
    n = next(valid)
    wait_for(lambda: gateway.stats()["received"] == counted[0], timeout=30, what="all handled")
    stats = gateway.stats()
    assert stats["accepted"] == n
    assert stats["rejected_total"] == counted[0] - n
    check_stream(influx, n)
