"""Sensor-module data: the .npz data format, synthetic showers, CSV import."""

from .csv_import import import_csv
from .store import SensorData, load_data, save_data
from .summary import occupancy, summarize
from .synth import MIP_PER_GEV, ShowerModel, synthesize

__all__ = ["SensorData", "load_data", "save_data", "synthesize", "ShowerModel", "MIP_PER_GEV",
           "import_csv", "summarize", "occupancy"]
