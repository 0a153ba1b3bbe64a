"""Sensor-module data: the .npz data format, synthetic showers, CSV import."""

from .store import SensorData, load_data, save_data

__all__ = ["SensorData", "load_data", "save_data"]
