"""Reconstruction quality (EMD and friends), the non-ML baselines and bandwidth.

Importing this package loads neither POT nor matplotlib; POT is imported on
the first EMD (without its TensorFlow backend), matplotlib by ``plots``.
"""

from . import bandwidth, baselines, quality
from .baselines import BaselineResult, ChargeCoding, best_choice, run_all, super_trigger_cells, threshold
from .charge_code import TC_CODE, FloatCode
from .emd_solver import EMD_INPUT_EMPTY, EMD_OUTPUT_EMPTY, emd, emd_reference
from .quality import (binned, centroid_shift_cm, emd_summary, emd_vs_energy, emd_vs_occupancy, mse,
                      occupancy, sum_ratio)

__all__ = [
    "bandwidth", "baselines", "quality",
    "BaselineResult", "ChargeCoding", "best_choice", "run_all", "super_trigger_cells", "threshold",
    "TC_CODE", "FloatCode",
    "EMD_INPUT_EMPTY", "EMD_OUTPUT_EMPTY", "emd", "emd_reference",
    "binned", "centroid_shift_cm", "emd_summary", "emd_vs_energy", "emd_vs_occupancy", "mse",
    "occupancy", "sum_ratio",
]
