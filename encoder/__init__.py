"""Design kit for on-detector autoencoder data-compression ASICs.

The core (geometry, sensor data, the hardware input path, the IR and the
golden model) is plain NumPy; TensorFlow is imported only by
``encoder.training``.
"""

__version__ = "0.1.0"
