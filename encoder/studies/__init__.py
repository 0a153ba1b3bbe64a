"""Reconstruction quality against bandwidth: ``encoder evaluate`` and ``encoder study``.

- ``scoring``: the figures of one algorithm on a set of modules (EMD,
  MSE, centroid shift, module-sum ratio, binned EMD, bandwidth).
- ``evaluate``: a trained autoencoder scored on what the chip sends (the
  golden model's latent codes and module-sum code, decoded off-detector),
  its float QKeras path, and the non-ML baselines on the same modules.
- ``outputs``: an evaluation written as JSON, CSV and plots.
- ``study_config``, ``datasets``, ``points``, ``runner``, ``report``: a
  sweep of model configs, each point trained, exported, run through the
  golden model and evaluated on Dask, resumable, summarised as a table,
  a Pareto plot and a report.

Importing this package loads neither TensorFlow nor Dask; the functions
that need them import them when they run.
"""
