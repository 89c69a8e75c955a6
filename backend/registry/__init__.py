"""The registry: buildings, rooms, devices, people, cards and service leaders in SQLite."""

from backend.registry.model import (
    Building,
    Card,
    Device,
    Leader,
    Person,
    RegistryData,
    Room,
)
from backend.registry.repository import PlacedDevice, Registry, RegistryError

__all__ = [
    "Building",
    "Card",
    "Device",
    "Leader",
    "Person",
    "PlacedDevice",
    "Registry",
    "RegistryData",
    "RegistryError",
    "Room",
]
