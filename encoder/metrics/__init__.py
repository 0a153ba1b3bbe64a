"""Reconstruction quality (EMD and friends), baselines and bandwidth."""
