"""Verilog generation from the encoder IR, and area/timing estimates with yosys.

``generate(ir, weights, pipeline)`` returns the design as text in memory
(``generate(..., cuts=[...])``: register stages by name, see
``encoder.rtl_gen.cuts``; ``available_cuts(plan)`` lists them with their cost);
``write_design`` puts it in a directory with ``manifest.json``;
``register_image(ir)`` is the configuration image a testbench loads into a
programmable design. ``encoder.rtl_gen.synth`` runs yosys on a design.
"""

from .cuts import available_cuts
from .design import GeneratedDesign, control_writes, generate, generate_from_file, has_cfg_reset, write_design
from .plan import plan_design, register_image

__all__ = ["GeneratedDesign", "generate", "generate_from_file", "write_design", "plan_design", "register_image",
           "available_cuts", "control_writes", "has_cfg_reset"]
