"""QKeras models, losses, quantization-aware training and export to the IR.

The only part of the kit that imports TensorFlow; importing this package
itself does not (commands import TensorFlow when they run).
"""
