"""The top module: ports, pipeline registers, valid pipeline, register file."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from .common import Options, _assign_concat, _instance, header
from .cuts import MAC_STAGES, Cut, available_cuts, choose_cuts, pipeline_order  # noqa: F401  (API)
from .plan import DesignPlan
from .verilog import Writer, fmt_name, ports_block, vec

CFG_BLOCK = 64          # fields per configuration block (one enc_cfg_block)
ELINK_BITS = 32         # bits one e-link carries per BX
BX_FIELD_BITS = 5       # the frame's BX counter field
MAX_ELINKS = 13         # the ECON-T's output e-links


@dataclass
class Framing:
    """The e-link framing block on the outputs (enc_elink_frame): N e-links, a fixed latent mask."""

    elinks: int
    mask: int             # bit k keeps bit k of the latent word; all ones keeps every bit
    mask_source: str      # where the mask came from, for the manifest

    def check(self, n_latent_bits: int, sum_code_bits: int) -> None:
        if not 1 <= self.elinks <= MAX_ELINKS:
            raise UserError(f"--elinks: {self.elinks} outside 1..{MAX_ELINKS}")
        if ELINK_BITS * self.elinks <= BX_FIELD_BITS + sum_code_bits:
            raise UserError(f"--elinks: {self.elinks} e-links carry {ELINK_BITS * self.elinks} bits, not more than "
                            f"the {BX_FIELD_BITS + sum_code_bits}-bit header")
        if not 0 <= self.mask < (1 << n_latent_bits):
            raise UserError(f"latent mask {self.mask:#x} ({self.mask_source}) is wider than the "
                            f"{n_latent_bits}-bit latent word")

    def field_bits(self, sum_code_bits: int) -> int:
        return ELINK_BITS * self.elinks - BX_FIELD_BITS - sum_code_bits


@dataclass
class CfgBlock:
    group: str            # e.g. dense_weight
    index: int            # block number within the group
    first: int            # first field (within the group)
    count: int
    bits: int
    addr_bits: int        # local address width


def cfg_blocks(plan: DesignPlan) -> list[CfgBlock]:
    blocks = []
    for g in plan.groups:
        if g.count <= CFG_BLOCK:
            blocks.append(CfgBlock(g.name, 0, 0, g.count, g.bits, max(1, (g.count - 1).bit_length())))
        else:
            for k, first in enumerate(range(0, g.count, CFG_BLOCK)):
                blocks.append(CfgBlock(g.name, k, first, min(CFG_BLOCK, g.count - first), g.bits,
                                       (CFG_BLOCK - 1).bit_length()))
    return blocks


def top_module(plan: DesignPlan, opts: Options, cuts: list[Cut], framing: Framing | None = None,
               clocked: frozenset[str] = frozenset()) -> tuple[str, dict]:
    """Returns the Verilog text and facts for the manifest (ports, latency, register bits).
    ``clocked``: the input path and layer modules (by name) with register stages inside."""
    ip = plan.input
    prog = opts.weights == "programmable"
    cut_after = {c.name for c in cuts}
    R = opts.reuse
    # --reuse R: each layer takes R + 1 cycles (input register, R phases), see mac_reuse.
    latency = len(cuts) + 1 + (len(plan.layers) * (R + 1) if R > 1 else 0)
    n_lat = plan.ir.n_latent
    lat_bits = plan.latent_bits
    lat_fmt = plan.ir.latent_format
    aw, dw = (plan.cfg_addr_bits, plan.cfg_data_bits) if prog else (0, 0)
    pipe_bits = 0

    w = Writer()
    stages = ", ".join(c.label for c in cuts) + ", on the outputs"
    w.block(header(plan, opts, plan.top, "autoencoder encoder, raw cell counts in, latent codes out.", [
        f"{ip.n_cells} counts of {ip.charge_bits} bits in; {n_lat} latents of {fmt_name(lat_fmt)} and the "
        f"{ip.sum_code_bits}-bit module-sum code out.",
    ] + (_stages_lines(f"One module per clock (initiation interval 1); latency {latency} cycles, register stages: "
                       f"{stages}.", wrap=[c.name for c in cuts] != pipeline_order(plan)[:len(cuts)]) if R == 1
         else _reuse_lines(R, latency, cuts, len(plan.layers))) + [
        "Single clock, synchronous active-high reset (clears the valid pipeline and the outputs;",
        "inner data registers load every cycle and need none" + ("; configuration fields keep their value)." if prog else ")."),
    ] + ([f"Weights: configuration register file of {plan.n_fields} fields ({plan.config_bits} bits), one field per",
          f"address on cfg_addr; writes on cfg_we, read-back on cfg_rdata one cycle after the address."]
         if prog else ["Weights: constants (zero weights have no multiplier)."])
      + ([f"E-link framing (--elinks {framing.elinks}): tx_data carries each BX's frame on {framing.elinks} e-links "
          f"(TX_DATA_0 in the top",
          f"32 bits), tx_valid {latency + 1} cycles after valid_in; bx_reset (with valid_in) restarts the "
          f"BX counter."] if framing else [])))
    w("`default_nettype none")
    w()
    w(f"module {plan.top} (")
    ports = [("input  wire", "", "clk"),
             ("input  wire", "", "rst  // synchronous, active high"),
             ("input  wire", "", "valid_in"),
             ("input  wire", f"[{ip.n_cells}*{ip.charge_bits}-1:0]", f"charges  // cell c at [{ip.charge_bits}*c +: {ip.charge_bits}]"),
             ("output wire", "", "valid_out"),
             ("output reg ", f"[{n_lat}*{lat_bits}-1:0]", f"latents  // latent j at [{lat_bits}*j +: {lat_bits}]"),
             ("output reg ", vec(ip.sum_code_bits), "sum_code")]
    if R > 1:
        ports.append(("output reg ", "", f"overrun  // high the cycle after a valid_in ignored as too soon (< {R} cycles)"))
    if framing:
        ports += [("input  wire", "", "bx_reset  // BX-counter reset, taken with valid_in"),
                  ("output wire", "", "tx_valid"),
                  ("output wire", f"[{framing.elinks}*{ELINK_BITS}-1:0]",
                   f"tx_data  // e-link i at [{ELINK_BITS}*({framing.elinks}-1-i) +: {ELINK_BITS}]")]
    if prog:
        ports += [("input  wire", "", "cfg_we"),
                  ("input  wire", vec(aw), "cfg_addr"),
                  ("input  wire", vec(dw), "cfg_wdata"),
                  ("output reg ", vec(dw), "cfg_rdata")]
    for line in ports_block(ports):
        w(line)
    w(");")

    # -- valid pipeline
    taken = "valid_in"
    if R > 1:
        taken = "accept"
        pipe_bits += _accept(w, R)
    w()
    w(f"// Valid pipeline: valid_out follows {taken} by {latency} cycles.", 1)
    w(f"reg {vec(latency)} valid_pipe;", 1)
    w("always @(posedge clk) begin", 1)
    w("if (rst) begin", 2)
    w(f"valid_pipe <= {latency}'d0;", 3)
    w("end else begin", 2)
    w("valid_pipe <= " + (f"{taken};" if latency == 1 else f"{{valid_pipe[{latency - 2}:0], {taken}}};"), 3)
    w("end", 2)
    w("end", 1)
    w(f"assign valid_out = valid_pipe[{latency - 1}];" if latency > 1 else "assign valid_out = valid_pipe;", 1)

    def register(bus: str, bits_expr: str, bits: int) -> str:
        nonlocal pipe_bits
        pipe_bits += bits
        w(f"reg [{bits_expr}-1:0] {bus}_q;", 1)
        w(f"always @(posedge clk) {bus}_q <= {bus};", 1)
        return f"{bus}_q"

    # -- charges
    w()
    charges = "charges"
    if "charges" in cut_after:
        w("// Register stage on the charge inputs.", 1)
        charges = register("charges", f"{ip.n_cells}*{ip.charge_bits}", ip.n_cells * ip.charge_bits)
        w()
    nu = len(ip.used_cells)
    w("// Input path: module sum, leading one, normalised input codes, module-sum code.", 1)
    w(f"wire [{nu}*{ip.code_bits}-1:0] cell_codes;", 1)
    w(f"wire {vec(ip.sum_code_bits)} module_sum_code;", 1)
    clk = [("clk", "clk")] if f"{plan.top}_input_path" in clocked else []
    _instance(w, f"{plan.top}_input_path", [], "u_input_path",
              clk + [("charges", charges), ("cell_codes", "cell_codes"), ("sum_code", "module_sum_code")])
    bus, sum_bus = "cell_codes", "module_sum_code"
    if "input_path" in cut_after:
        w()
        w("// Register stage after the input path.", 1)
        bus = register("cell_codes", f"{nu}*{ip.code_bits}", nu * ip.code_bits)
        sum_bus = register("module_sum_code", str(ip.sum_code_bits), ip.sum_code_bits)

    # -- configuration register file
    blocks = cfg_blocks(plan) if prog else []
    if prog:
        w()
        w(f"// Configuration register file: {plan.n_fields} fields, one per address, in blocks of up to "
          f"{CFG_BLOCK}.", 1)
        for g in plan.groups:
            w(f"// {g.name}: addresses {g.base}..{g.base + g.count - 1}, {g.bits} bits each, {g.order}.", 1)
        for g in plan.groups:
            w()
            w(f"wire [{g.count}*{g.bits}-1:0] cfg_{g.name};", 1)
            g_blocks = [b for b in blocks if b.group == g.name]
            off = f"cfg_off_{g.name}"
            if g.base:
                w(f"wire {vec(aw)} {off} = cfg_addr - {aw}'d{g.base};  // address within the group", 1)
            else:
                w(f"wire {vec(aw)} {off} = cfg_addr;  // address within the group", 1)
            w(f"wire cfg_in_{g.name} = {off} < {aw}'d{g.count};", 1)
            for b in g_blocks:
                tag = f"{g.name}_b{b.index}"
                w(f"wire [{b.count}*{b.bits}-1:0] cfg_fields_{tag};", 1)
                if g.count > CFG_BLOCK:
                    hi_bits = aw - b.addr_bits
                    w(f"wire cfg_sel_{tag} = cfg_in_{g.name} && ({off}[{aw - 1}:{b.addr_bits}] == "
                      f"{hi_bits}'d{b.index});", 1)
                else:
                    w(f"wire cfg_sel_{tag} = cfg_in_{g.name};", 1)
                w(f"wire {vec(b.bits)} cfg_rd_{tag};", 1)
                _instance(w, "enc_cfg_block", [("COUNT", str(b.count)), ("WIDTH", str(b.bits)),
                                               ("ADDR_BITS", str(b.addr_bits))], f"u_cfg_{tag}", [
                    ("clk", "clk"), ("we", f"cfg_we && cfg_sel_{tag}"),
                    ("addr", f"{off}[{b.addr_bits - 1}:0]" if b.addr_bits > 1 else f"{off}[0]"),
                    ("wdata", f"cfg_wdata[{b.bits - 1}:0]" if b.bits > 1 else "cfg_wdata[0]"),
                    ("fields", f"cfg_fields_{tag}"), ("rdata", f"cfg_rd_{tag}")])
            _assign_concat(w, f"cfg_{g.name}", [f"cfg_fields_{g.name}_b{b.index}" for b in g_blocks])
        w()
        w("// Read-back: the addressed field, zero-extended, registered.", 1)
        terms = []
        for b in blocks:
            tag = f"{b.group}_b{b.index}"
            val = f"cfg_rd_{tag}" if b.bits == dw else f"{{{dw - b.bits}'d0, cfg_rd_{tag}}}"
            terms.append(f"({{{dw}{{cfg_sel_{tag}}}}} & {val})" if dw > 1 else f"(cfg_sel_{tag} & {val})")
        w(f"wire {vec(dw)} cfg_rdata_next =", 1)
        for i, t in enumerate(terms):
            w(("  " if i == 0 else "| ") + t + (";" if i == len(terms) - 1 else ""), 2)
        # Not reset: the configuration interface works whatever the datapath does (weights
        # are loaded and read back while the encoder is held in reset).
        w("always @(posedge clk) cfg_rdata <= cfg_rdata_next;", 1)

    # -- layers
    if R > 1:
        bus, sum_bus, more = _reuse_layers(w, plan, R, len(cuts), bus, sum_bus, prog)
        pipe_bits += more
    for lp in (plan.layers if R == 1 else []):
        layer = lp.layer
        n_out = len(lp.neurons)
        out_bus = f"{lp.name}_out"
        w()
        w(f"// Layer \"{layer.name}\" ({layer.op}): {lp.n_products} products, {n_out} outputs.", 1)
        w(f"wire [{n_out}*{lp.code_bits}-1:0] {out_bus};", 1)
        conns = [("clk", "clk")] if f"{plan.top}_{lp.name}" in clocked else []
        conns.append(("x", bus))
        if prog:
            conns += [("weight", f"cfg_{lp.name}_weight"), ("bias", f"cfg_{lp.name}_bias")]
        conns.append(("y", out_bus))
        _instance(w, f"{plan.top}_{lp.name}", [], f"u_{lp.name}", conns)
        bus = out_bus
        inner = [k for k in MAC_STAGES if f"{lp.name}.{k}" in cut_after]
        if inner:
            w(f"// The module-sum code waits out the register stages inside the layer ({', '.join(inner)}).", 1)
            for k in inner:
                sum_bus = register(sum_bus, str(ip.sum_code_bits), ip.sum_code_bits) \
                    if sum_bus == "module_sum_code" else _carry(w, sum_bus, ip.sum_code_bits, f"{lp.name}_{k}", register)
        if lp.name in cut_after:
            w()
            w(f"// Register stage after layer \"{layer.name}\".", 1)
            bus = register(out_bus, f"{n_out}*{lp.code_bits}", n_out * lp.code_bits)
            sum_bus = register(sum_bus, str(ip.sum_code_bits), ip.sum_code_bits) if sum_bus == "module_sum_code" \
                else _carry(w, sum_bus, ip.sum_code_bits, lp.name, register)

    # -- outputs
    w()
    # Outputs load only with valid data and clear on reset: before the first
    # configuration write the datapath computes from unwritten fields (X in
    # simulation), and nothing of that may reach the pins.
    w("// Output registers: cleared by reset, loaded only when the stage before them holds valid data.", 1)
    pipe_bits += n_lat * lat_bits + ip.sum_code_bits
    out_valid = "valid_in" if latency == 1 else f"valid_pipe[{latency - 2}]"
    w("always @(posedge clk) begin", 1)
    w("if (rst) begin", 2)
    w(f"latents  <= {n_lat * lat_bits}'d0;", 3)
    w(f"sum_code <= {ip.sum_code_bits}'d0;", 3)
    w(f"end else if ({out_valid}) begin", 2)
    w(f"latents  <= {bus};", 3)
    w(f"sum_code <= {sum_bus};", 3)
    w("end", 2)
    w("end", 1)
    if framing:
        pipe_bits += _framing(w, plan, framing, latency, taken)
    w("endmodule")
    w()
    w("`default_nettype wire")

    port_facts = [
        {"name": "clk", "direction": "input", "width": 1, "role": "clock"},
        {"name": "rst", "direction": "input", "width": 1, "role": "reset"},
        {"name": "valid_in", "direction": "input", "width": 1, "role": "in_valid"},
        {"name": "charges", "direction": "input", "width": ip.n_cells * ip.charge_bits, "role": "in_counts",
         "fields": ip.n_cells, "field_width": ip.charge_bits},
        {"name": "valid_out", "direction": "output", "width": 1, "role": "out_valid"},
        {"name": "latents", "direction": "output", "width": n_lat * lat_bits, "role": "out_latents",
         "fields": n_lat, "field_width": lat_bits, "signed": lat_fmt.signed},
        {"name": "sum_code", "direction": "output", "width": ip.sum_code_bits, "role": "out_sum_code"},
    ]
    if R > 1:
        port_facts.append({"name": "overrun", "direction": "output", "width": 1, "role": "out_overrun"})
    if prog:
        port_facts += [
            {"name": "cfg_we", "direction": "input", "width": 1, "role": "cfg_we"},
            {"name": "cfg_addr", "direction": "input", "width": aw, "role": "cfg_addr"},
            {"name": "cfg_wdata", "direction": "input", "width": dw, "role": "cfg_wdata"},
            {"name": "cfg_rdata", "direction": "output", "width": dw, "role": "cfg_rdata"},
        ]
    if framing:
        port_facts += [
            {"name": "bx_reset", "direction": "input", "width": 1, "role": "in_bx_reset"},
            {"name": "tx_valid", "direction": "output", "width": 1, "role": "out_tx_valid",
             "latency": latency + 1},
            {"name": "tx_data", "direction": "output", "width": ELINK_BITS * framing.elinks, "role": "out_tx_data",
             "fields": framing.elinks, "field_width": ELINK_BITS, "order": "TX_DATA_0 in the most significant bits",
             "latency": latency + 1},
        ]
    facts = {"latency": latency, "ports": port_facts, "pipeline_bits": pipe_bits + latency,
             "stages": [c.label for c in cuts] + ["on the outputs"],
             "cfg_blocks": len(blocks)}
    return w.text(), facts


def _framing(w: Writer, plan: DesignPlan, framing: Framing, latency: int, taken: str = "valid_in") -> int:
    """The e-link framing block on the output registers; returns its flip-flops outside the primitive's."""
    ip = plan.input
    n_lat, lat_bits = plan.ir.n_latent, plan.latent_bits
    word = n_lat * lat_bits
    w()
    w(f"// E-link framing on {framing.elinks} e-links: BX counter, module-sum code, latent field "
      f"({framing.field_bits(ip.sum_code_bits)} bits).", 1)
    w(f"// bx_reset travels with its BX through the {latency}-cycle datapath so that the counter, which", 1)
    w("// sits at the outputs, restarts on the frame of that BX.", 1)
    w(f"reg {vec(latency)} bx_reset_pipe;", 1)
    w("always @(posedge clk) begin", 1)
    w(f"if (rst) bx_reset_pipe <= {latency}'d0;", 2)
    w("else bx_reset_pipe <= " + (f"{taken} && bx_reset;" if latency == 1
                                   else f"{{bx_reset_pipe[{latency - 2}:0], {taken} && bx_reset}};"), 2)
    w("end", 1)
    full = framing.mask == (1 << word) - 1
    note = "all ones: every latent bit is sent" if full else "bits with a 0 are dropped, the rest packed down"
    w()
    w(f"// Latent mask ({framing.mask_source}): {note}.", 1)
    w(f"localparam [{word}-1:0] LATENT_MASK = {word}'h{framing.mask:x};", 1)
    bxr = "bx_reset_pipe" if latency == 1 else f"bx_reset_pipe[{latency - 1}]"
    _instance(w, "enc_elink_frame", [("N_ELINKS", str(framing.elinks)), ("N_LATENT", str(n_lat)),
                                     ("LATENT_BITS", str(lat_bits)), ("SUM_BITS", str(ip.sum_code_bits))],
              "u_elink_frame", [("clk", "clk"), ("rst", "rst"), ("valid", "valid_out"), ("bx_reset", bxr),
                                ("latents", "latents"), ("sum_code", "sum_code"), ("mask", "LATENT_MASK"),
                                ("tx_valid", "tx_valid"), ("tx_data", "tx_data")])
    # bx_reset pipeline, BX counter (4), tx_valid and tx_data
    return latency + 4 + 1 + ELINK_BITS * framing.elinks


def _stages_lines(text: str, wrap: bool) -> list[str]:
    """The header's register-stage sentence, wrapped; on one line for the sets --pipeline makes (as it was)."""
    import textwrap
    return textwrap.wrap(text, 100) if wrap else [text]


def _carry(w: Writer, sum_bus: str, bits: int, after: str, register) -> str:
    """Delay the module-sum code alongside the data through another register stage."""
    name = f"module_sum_code_{after}"
    w(f"wire {vec(bits)} {name} = {sum_bus};", 1)
    return register(name, str(bits), bits)


# -- --reuse R > 1 ----------------------------------------------------------

def _reuse_lines(R: int, latency: int, cuts: list[Cut], n_layers: int) -> list[str]:
    import textwrap
    before = ", ".join(c.label for c in cuts) if cuts else "none"
    return textwrap.wrap(
        f"Time-multiplexed (--reuse {R}): clock {R} x the module rate, each multiplier serves up to {R} products, "
        f"one per cycle. One module every {R} cycles (initiation interval {R}): a valid_in fewer than {R} cycles "
        f"after the last one taken is ignored and raises overrun for one cycle. Latency {latency} cycles "
        f"({latency / R:g} module periods): register stages before the first layer: {before}; then per layer "
        f"(x{n_layers}) its input register and {R} phases; then the output registers.", 100)


def _accept(w: Writer, R: int) -> int:
    """The initiation-interval guard; returns its flip-flops."""
    cb = max(1, (R - 1).bit_length())
    w()
    w(f"// Initiation interval {R}: a module is taken when {R} cycles have passed since the last one taken.", 1)
    w("// A valid_in sooner than that is ignored (the layers are still busy with the module before) and", 1)
    w("// raises overrun on the next cycle.", 1)
    w(f"reg {vec(cb)} busy;  // cycles until the next module may come; 0: ready", 1)
    w(f"wire accept = valid_in && busy == {cb}'d0;", 1)
    w("always @(posedge clk) begin", 1)
    w("if (rst) begin", 2)
    w(f"busy    <= {cb}'d0;", 3)
    w("overrun <= 1'b0;", 3)
    w("end else begin", 2)
    w(f"busy    <= accept ? {cb}'d{R - 1} : (busy != {cb}'d0 ? busy - {cb}'d1 : {cb}'d0);", 3)
    w(f"overrun <= valid_in && busy != {cb}'d0;", 3)
    w("end", 2)
    w("end", 1)
    return cb + 1


def _reuse_layers(w: Writer, plan: DesignPlan, R: int, n_cuts: int, bus: str, sum_bus: str, prog: bool
                  ) -> tuple[str, str, int]:
    """Instances of the time-multiplexed layers, their start pulses from the valid pipeline, and the
    module-sum code carried beside them. Returns the last layer's output bus, the code, flip-flops added."""
    step = R + 1              # a layer: its input register's cycle, then R phases
    bits = plan.input.sum_code_bits
    flops = 0

    def tap(delay: int) -> str:
        """valid_pipe bit = the taken valid delayed by ``delay`` cycles (0: accept itself)."""
        return "accept" if delay == 0 else f"valid_pipe[{delay - 1}]"

    for k, lp in enumerate(plan.layers):
        layer = lp.layer
        n_out = len(lp.neurons)
        out_bus = f"{lp.name}_out"
        start = tap(n_cuts + k * step)
        w()
        w(f"// Layer \"{layer.name}\" ({layer.op}): {lp.n_products} products, {n_out} outputs; starts "
          f"{n_cuts + k * step} cycles after the module is taken.", 1)
        w(f"wire [{n_out}*{lp.code_bits}-1:0] {out_bus};", 1)
        conns = [("clk", "clk"), ("start", start), ("x", bus)]
        if prog:
            conns += [("weight", f"cfg_{lp.name}_weight"), ("bias", f"cfg_{lp.name}_bias")]
        conns.append(("y", out_bus))
        _instance(w, f"{plan.top}_{lp.name}", [], f"u_{lp.name}", conns)
        # The code is taken with the layer's inputs, then moved one cycle later: the next module may
        # take the first register R cycles on, one cycle before this layer's results leave.
        a, b = f"module_sum_code_{lp.name}_in", f"module_sum_code_{lp.name}"
        w(f"// The module-sum code beside the layer: taken with its inputs, then kept a cycle later until "
          f"its outputs leave.", 1)
        w(f"reg {vec(bits)} {a};", 1)
        w(f"reg {vec(bits)} {b};", 1)
        w(f"always @(posedge clk) if ({start}) {a} <= {sum_bus};", 1)
        w(f"always @(posedge clk) if ({tap(n_cuts + k * step + 1)}) {b} <= {a};", 1)
        flops += 2 * bits
        bus, sum_bus = out_bus, b
    return bus, sum_bus, flops

