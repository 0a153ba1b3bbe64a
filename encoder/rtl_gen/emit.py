"""DesignPlan -> Verilog-2001 text, one module per file.

Module hierarchy of a generated design ``TOP``:

- ``TOP``: ports, pipeline registers, valid pipeline, configuration
  register file (programmable weights);
- ``TOP_input_path``: module sum (adder tree), leading one, one normaliser
  per cell, module-sum code;
- ``TOP_<layer>``: one per conv2d/dense layer, names every input and
  output code and instantiates one MAC module per output;
- MAC modules: products, adder tree, bias, activation and
  requantization of one output. With programmable weights all outputs
  with the same number of products share one module
  (``TOP_<layer>_mac<N>``); with constant weights each output has its own
  (``TOP_<output name>``), its weights written in as literals. Constant
  weights on non-negative inputs (exact or floored products, the usual
  case) take the multiplier-free form described at ``odd_split``: the
  layer module computes each input's odd multiples once and the sums of
  terms that several outputs share; a MAC slices, complements and adds.

Each job lives in its own module (``common``, ``accumulate``,
``mac_programmable``, ``const_terms``, ``mac_constant``, ``layer``,
``input_path``); this one re-exports them for existing callers.

The hand-written primitives (``rtl/enc_*.v``) do the arithmetic; the glue
here only wires them and sizes every bus from the plan's interval analysis.
"""

from __future__ import annotations

from .accumulate import _bias_leaf_const, _finish_mac, _product_leaf, _requant  # noqa: F401
from .common import Options, _adder_tree, _assign_concat, _instance, _wrap_concat, header  # noqa: F401
from .const_terms import (ConstProduct, MacInput, SharedSums, _layer_multiples, _layer_shared_sums,  # noqa: F401
                          _mac_inputs, _multiple_recipes, _operand_terms, const_products, constant_fused,
                          low_zero_name, multiple_bits, multiple_name, odd_split, shared_sums)
from .input_path import input_path_module  # noqa: F401
from .layer import _mac_name, layer_module, mac_modules  # noqa: F401
from .mac_constant import _removed_taps, mac_module_constant, mac_module_constant_fused  # noqa: F401
from .mac_programmable import mac_module_programmable  # noqa: F401
