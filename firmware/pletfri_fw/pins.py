# The pin map: the one source of truth for wiring (hardware/pinmap.md is checked
# against it by tests/firmware/test_hardware_docs.py). ESP32-WROOM-32E GPIO numbers.

STATION = {
    "i2c_sda": 21,  # PN532 SDA (I2C mode: SEL0 = H, SEL1 = L)
    "i2c_scl": 22,  # PN532 SCL
    "pn532_irq": 4,
    "pn532_rst": 5,
    "led_r": 25,  # common-cathode RGB LED, PWM
    "led_g": 26,
    "led_b": 27,
    "buzzer": 13,  # passive piezo through an NPN transistor, PWM
}

# The MFRC522 alternative to the PN532 on the same station board, on VSPI.
STATION_MFRC522 = {
    "spi_sck": 18,
    "spi_mosi": 23,
    "spi_miso": 19,
    "rc522_cs": 15,
    "rc522_rst": 5,
}

SENSOR = {
    "pir": 33,  # RTC GPIO: ext0 deep-sleep wake
    "door": 32,  # RTC GPIO: reed switch to GND, ext1 wake
    "batt_adc": 35,  # battery through 1 M / 1 M divider, ADC1 (works with Wi-Fi on)
    "ld2410_tx": 17,  # ESP32 TX -> LD2410 RX (UART2)
    "ld2410_rx": 16,  # ESP32 RX <- LD2410 TX
    "ld2410_out": 34,  # LD2410 OUT pin: high while a target is present
}
