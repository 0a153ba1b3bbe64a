"""Verilog generation from the encoder IR, and area/timing estimates with yosys.

``generate(ir, weights, pipeline)`` returns the design as text in memory;
``write_design`` puts it in a directory with ``manifest.json``;
``register_image(ir)`` is the configuration image a testbench loads into a
programmable design. ``encoder.rtl_gen.synth`` runs yosys on a design.
"""

from .design import GeneratedDesign, generate, generate_from_file, write_design
from .plan import plan_design, register_image

__all__ = ["GeneratedDesign", "generate", "generate_from_file", "write_design", "plan_design", "register_image"]
