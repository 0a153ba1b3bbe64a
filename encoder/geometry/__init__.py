"""Sensor-module geometries: cell positions, input arrangements, cell groups."""

from .model import Arrangement, Geometry, available, load

__all__ = ["Arrangement", "Geometry", "available", "load"]
