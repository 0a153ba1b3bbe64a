"""Silicon figures on a real standard-cell library: mapping, timing, power, gate-level netlists.

``mapping`` maps a generated design to a Liberty library with yosys, ``sta``
drives OpenSTA, ``timing`` and ``power`` turn its reports into figures, and
``report`` writes what ``encoder synth --liberty`` prints. Nothing here
imports TensorFlow.
"""
