"""Bulk verification: the whole stimulus as a file the simulator streams, outputs compared in NumPy.

The cocotb testbench (``encoder.verif.tb``) drives every input and samples
every output from Python, one clock at a time: about 4,000 vectors/s on
Verilator. Here Python only writes files and reads them back:

- the *cycle image*: one fixed-size binary record per clock with every
  input of the design (reset, valid, bx_reset, configuration write or read
  address, the charges), built in NumPy from the shard's plan: weight load,
  read-back, the vectors with their gaps, a reset with vectors in flight,
  a reload of the second weight set, the drain at the end;
- a harness module written per design (``TOP_bulk``, simulation only) that
  reads one record per clock with ``$fread``, applies it, and appends what
  the design shows to text dumps: one line per valid output (cycle, latents,
  module-sum code), per valid frame (cycle, tx_data) and per sampled
  read-back word (cycle, cfg_rdata);
- after the run the dumps are parsed in NumPy and compared with the golden
  model, output by output and cycle by cycle (so latency, stale outputs and
  missing outputs are checked too).

cocotb only starts the clock (its C++ clock) and waits for the harness's
``done``. The first mismatches go to failures.json like any run's, so
``encoder sim DIR --replay`` reruns them in the per-vector testbench.

Timing convention (both simulators): record c is applied just after rising
edge c and taken by the design at edge c + 1; a dump line stamped e shows
the design's state after edge e - 1. A vector of record c with latency L
is therefore stamped c + L + 1, the read-back of an address in record c
c + read_latency + 1.

Upsets (``encoder.verif.seu``) ride along: the harness reads a list of
(cycle, register, bit) events and flips the bit on the design's register
at the falling edge of that cycle.
"""

from __future__ import annotations

import numpy as np

from ..econt import framing as econt_framing
from ..rtl_gen.design import control_writes
from .design import Design
from .plan import ShardPlan

# Control bits of a record (the first byte).
CTRL_RST = 1           # reset asserted (at the design's reset polarity)
CTRL_VALID = 2
CTRL_BX_RESET = 4
CTRL_CFG_WE = 8
CTRL_SAMPLE_RD = 16    # dump cfg_rdata at the next edge
CTRL_CFG_RST = 32      # configuration reset (designs with a cfg_reset port), active high

RESET_CYCLES = 3
IDLE_BX_RESET_EVERY = 64   # as the per-vector testbench's driver
ID_FILLER = -1         # vectors in flight at a reset: their outputs must never appear
ID_IDLE = -2


def idle_bx_resets(k: int, rng: np.random.Generator) -> np.ndarray:
    """bx_reset bits for k idle records: high on about one in IDLE_BX_RESET_EVERY."""
    return ((rng.random(k) < 1.0 / IDLE_BX_RESET_EVERY) * CTRL_BX_RESET).astype(np.uint8)


def _bytes(bits: int) -> int:
    return (bits + 7) // 8


class Layout:
    """Where each input sits in a record: control byte, configuration address and data, charges."""

    def __init__(self, design: Design):
        self.design = design
        p = design.port("in_counts")
        self.cells, self.count_bits = p.fields, p.element_width
        # A configuration port: programmable weights, or the framing registers (either weight mode).
        self.prog = design.has_cfg
        self.addr_bits = design.port("cfg_addr").width if self.prog else 0
        self.data_bits = design.port("cfg_wdata").width if self.prog else 0
        # Every field starts on a byte: the record is packed byte-wise in NumPy.
        self.charges_bytes = _bytes(self.cells * self.count_bits)
        self.addr_bytes = _bytes(self.addr_bits)
        self.data_bytes = _bytes(self.data_bits)
        self.record_bytes = 1 + self.addr_bytes + self.data_bytes + self.charges_bytes

    @property
    def record_bits(self) -> int:
        return 8 * self.record_bytes


# ---- the harness ---------------------------------------------------------

def harness_name(design: Design) -> str:
    return f"{design.top}_bulk"


def harness(design: Design, targets: list | None = None) -> str:
    """Verilog of ``TOP_bulk``: the design, its inputs from the cycle image, its outputs to the dumps.

    ``targets``: the registers upsets may hit (``encoder.verif.seu.Register``), numbered in order.
    """
    lay = Layout(design)
    ports = {role: p.name for role, p in design.ports.items()}
    fr = design.framing
    name = harness_name(design)
    rb = lay.record_bits
    lat_w = design.port("out_latents").width
    sum_w = design.port("out_sum_code").width
    rst_on = "1'b1" if design.reset_active_high else "1'b0"
    rst_off = "1'b0" if design.reset_active_high else "1'b1"
    charges_w = lay.cells * lay.count_bits
    L = []
    a = L.append
    a(f"// {name}: bulk-verification harness of {design.top} (simulation only; written by `encoder sim --bulk`).")
    a("//")
    a("// Reads one record per clock from the cycle image (+bulk_stim=FILE, binary, first byte =")
    a("// control bits) and applies it after the rising edge; at each rising edge it appends what the")
    a("// design shows to the dumps (+bulk_out, +bulk_tx, +bulk_rd: one line per valid output, frame and")
    a("// sampled read-back word: the cycle, then each element in hex, latent 0 and e-link 0 first).")
    a("// done rises at the end of the image.")
    a("// Upsets (+bulk_seu=FILE: lines 'cycle op target bit ref'): at the falling edge of that cycle")
    a("// the bit of register number `target` is flipped (op 0, flip number ref) or given back the value")
    a("// it had before flip ref (op 1: held registers, so that each upset is judged alone).")
    a("`default_nettype none")
    a("")
    a(f"module {name} (")
    a("    input  wire clk,")
    a("    output reg  done")
    a(");")
    a(f"    reg [{rb - 1}:0] rec;")
    a("    reg [8*1024-1:0] path;")
    a("    integer stim_fd, out_fd, tx_fd, rd_fd, seu_fd, got;")
    a("    reg [31:0] cycle;")
    a("    reg [7:0] ctrl;")
    a("")
    a("    // Inputs of the design, from the current record.")
    a("    reg rst_i, valid_i, bx_reset_i, cfg_we_i, sample_rd, cfg_rst_i;")
    a(f"    reg [{charges_w - 1}:0] charges_i;")
    if lay.prog:
        a(f"    reg [{lay.addr_bits - 1}:0] cfg_addr_i;")
        a(f"    reg [{lay.data_bits - 1}:0] cfg_wdata_i;")
        a(f"    wire [{lay.data_bits - 1}:0] cfg_rdata_o;")
    a("    wire valid_o;")
    a(f"    wire [{lat_w - 1}:0] latents_o;")
    a(f"    wire [{sum_w - 1}:0] sum_code_o;")
    if fr:
        a("    wire tx_valid_o;")
        a(f"    wire [{32 * fr.elinks - 1}:0] tx_data_o;")
    a("")
    conns = [(ports["clock"], "clk"), (ports["reset"], "rst_i"), (ports["in_valid"], "valid_i"),
             (ports["in_counts"], "charges_i"), (ports["out_valid"], "valid_o"),
             (ports["out_latents"], "latents_o"), (ports["out_sum_code"], "sum_code_o")]
    if lay.prog:
        conns += [(ports["cfg_we"], "cfg_we_i"), (ports["cfg_addr"], "cfg_addr_i"),
                  (ports["cfg_wdata"], "cfg_wdata_i"), (ports["cfg_rdata"], "cfg_rdata_o")]
    if "cfg_reset" in ports:
        conns.append((ports["cfg_reset"], "cfg_rst_i"))
    if fr:
        conns += [(ports["in_bx_reset"], "bx_reset_i"), (ports["out_tx_valid"], "tx_valid_o"),
                  (ports["out_tx_data"], "tx_data_o")]
    a(f"    {design.top} dut (")
    a(",\n".join(f"        .{p}({s})" for p, s in conns))
    a("    );")
    a("")
    a("    initial begin")
    a("        done = 1'b0;")
    a("        cycle = 32'd0;")
    a(f"        rst_i = {rst_on};")
    a("        valid_i = 1'b0; bx_reset_i = 1'b0; cfg_we_i = 1'b0; sample_rd = 1'b0; cfg_rst_i = 1'b1;")
    a(f"        charges_i = {charges_w}'d0;")
    if lay.prog:
        a(f"        cfg_addr_i = {lay.addr_bits}'d0; cfg_wdata_i = {lay.data_bits}'d0;")
    for key, fd, mode in (("bulk_stim", "stim_fd", "rb"), ("bulk_out", "out_fd", "w"), ("bulk_tx", "tx_fd", "w"),
                          ("bulk_rd", "rd_fd", "w")):
        a(f"        if (!$value$plusargs(\"{key}=%s\", path)) begin")
        a(f"            $display(\"{name}: error: +{key}=FILE not given\");")
        a("            $finish;")
        a("        end")
        a(f"        {fd} = $fopen(path, \"{mode}\");")
        a(f"        if ({fd} == 0) begin")
        a(f"            $display(\"{name}: error: cannot open %0s\", path);")
        a("            $finish;")
        a("        end")
    a("        seu_fd = 0;")
    a("        if ($value$plusargs(\"bulk_seu=%s\", path)) seu_fd = $fopen(path, \"r\");")
    a("        seu_next;")
    a("    end")
    a("")
    a("    // Record layout, most significant byte first: control, [cfg address, cfg data,] charges.")
    a("    always @(posedge clk) begin")
    a("        if (!done) begin")
    lat = design.port("out_latents")
    elems = [f"latents_o[{lat.element_width * j} +: {lat.element_width}]" for j in range(lat.fields)]
    a(f"            if (valid_o) $fwrite(out_fd, \"{'%h' * (2 + lat.fields)}\\n\", cycle, sum_code_o, "
      f"{', '.join(elems)});")
    if fr:
        links = [f"tx_data_o[{32 * (fr.elinks - 1 - i)} +: 32]" for i in range(fr.elinks)]
        a(f"            if (tx_valid_o) $fwrite(tx_fd, \"{'%h' * (1 + fr.elinks)}\\n\", cycle, {', '.join(links)});")
    if lay.prog:
        a("            if (sample_rd) $fwrite(rd_fd, \"%h%h\\n\", cycle, cfg_rdata_o);")
    a("            got = $fread(rec, stim_fd);")
    a("            if (got == 0) begin")
    a("                $fclose(out_fd); $fclose(tx_fd); $fclose(rd_fd); $fclose(stim_fd);")
    a("                done <= 1'b1;")
    a("            end else begin")
    a(f"                ctrl = rec[{rb - 1}:{rb - 8}];")
    a(f"                rst_i <= ctrl[0] ? {rst_on} : {rst_off};")
    a("                valid_i <= ctrl[1];")
    a("                bx_reset_i <= ctrl[2];")
    a("                cfg_we_i <= ctrl[3];")
    a("                sample_rd <= ctrl[4];")
    a("                cfg_rst_i <= ctrl[5];")
    pos = rb - 8
    if lay.prog:
        a(f"                cfg_addr_i <= rec[{pos - 8 * lay.addr_bytes + lay.addr_bits - 1}:{pos - 8 * lay.addr_bytes}];")
        pos -= 8 * lay.addr_bytes
        a(f"                cfg_wdata_i <= rec[{pos - 8 * lay.data_bytes + lay.data_bits - 1}:{pos - 8 * lay.data_bytes}];")
        pos -= 8 * lay.data_bytes
    a(f"                charges_i <= rec[{charges_w - 1}:0];")
    a("            end")
    a("            cycle <= cycle + 32'd1;")
    a("        end")
    a("    end")
    a("")
    a(_upset_hook(targets or []))
    a("endmodule")
    a("")
    a("`default_nettype wire")
    return "\n".join(L) + "\n"


def _upset_hook(targets: list) -> str:
    """The falling-edge upset injector: one case item per register the campaign may hit."""
    L = ["    // Upset injection: the next event from the upset file, applied at the falling edge of its cycle.",
         "    integer seu_cycle, seu_op, seu_target, seu_bit, seu_ref, seu_n;",
         "    reg seu_saved [0:255];          // value before each flip (ring of the last 256 flips)",
         "    reg seu_old;",
         "    task seu_next;",
         "        begin",
         "            seu_cycle = -1;",
         "            if (seu_fd != 0) begin",
         "                seu_n = $fscanf(seu_fd, \"%d %d %d %d %d\\n\", seu_cycle, seu_op, seu_target, seu_bit, seu_ref);",
         "                if (seu_n != 5) seu_cycle = -1;",
         "            end",
         "        end",
         "    endtask",
         "    always @(negedge clk) begin",
         "        while (seu_cycle >= 0 && seu_cycle == cycle) begin",
         "            case (seu_target)"]
    for k, t in enumerate(targets):
        ref = f"dut.{t.path}[seu_bit]" if t.width > 1 else f"dut.{t.path}"
        L.append(f"                {k}: begin seu_old = {ref}; {ref} = seu_op == 0 ? ~seu_old "
                 f": seu_saved[seu_ref & 255]; end")
    L += ["                default: seu_old = 1'b0;",
          "            endcase",
          "            if (seu_op == 0) seu_saved[seu_ref & 255] = seu_old;",
          "            seu_next;",
          "        end",
          "    end"]
    return "\n".join(L)


# ---- the cycle image -----------------------------------------------------

class Image:
    """Per clock: control bits, configuration address and data, charges; per vector: its record."""

    def __init__(self, lay: Layout):
        self.lay = lay
        self.ctrl: list[np.ndarray] = []
        self.addr: list[np.ndarray] = []
        self.data: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.n = 0
        # per valid vector: record index, id, model, bx_reset flag
        self.vec_rec: list[np.ndarray] = []
        self.vec_id: list[np.ndarray] = []
        self.vec_model: list[np.ndarray] = []
        self.vec_bx: list[np.ndarray] = []
        self.vec_counts: list[np.ndarray] = []
        self.reads: list[tuple[int, int, int, int, str]] = []   # (record of the address, address, expected, mask, when)
        self.resets: list[int] = []                      # first record of each reset
        self.frame_cfg: list[tuple[int, int, int]] = []  # framing registers (first record in force, count, mask)
        self.counter_reads: list[tuple[int, int]] = []   # (record of the address, address): TMR counters
        self.labels: dict[int, str] = {}

    def add(self, ctrl, counts, addr=None, data=None) -> int:
        ctrl = np.asarray(ctrl, dtype=np.uint8)
        k = len(ctrl)
        self.ctrl.append(ctrl)
        self.counts.append(np.asarray(counts, dtype=np.int64).reshape(k, self.lay.cells))
        self.addr.append(np.zeros(k, np.int64) if addr is None else np.asarray(addr, np.int64))
        self.data.append(np.zeros(k, np.int64) if data is None else np.asarray(data, np.int64))
        first = self.n
        self.n += k
        return first

    def junk(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, 1 << self.lay.count_bits, (k, self.lay.cells), dtype=np.int64)

    def idle(self, k: int, rng: np.random.Generator, framing: bool) -> None:
        ctrl = np.zeros(k, np.uint8)
        if framing:            # a few BX-counter resets without data: the counter takes them too
            ctrl |= idle_bx_resets(k, rng)
        self.add(ctrl, self.junk(k, rng))

    def reset(self, k: int, rng: np.random.Generator, configuration: bool = False) -> None:
        """The datapath reset for k cycles (and the configuration reset with it: power-up)."""
        self.resets.append(self.n)
        # valid stays high with junk during reset: nothing of it may come out
        self.add(np.full(k, CTRL_RST | CTRL_VALID | (CTRL_CFG_RST if configuration else 0), np.uint8),
                 self.junk(k, rng))

    def write_config(self, words: dict[int, int], rng: np.random.Generator) -> None:
        addrs = np.array(list(words), np.int64)
        self.add(np.full(len(addrs), CTRL_CFG_WE, np.uint8), self.junk(len(addrs), rng), addrs,
                 np.array(list(words.values()), np.int64))

    def read_config(self, want: dict[int, int], masks: dict[int, int], when: str, read_latency: int,
                    rng: np.random.Generator) -> None:
        """Read every address of ``want`` back; the dump must show want[addr] in the bits of masks[addr]."""
        addrs = list(want)
        k = len(addrs) + read_latency
        ctrl = np.zeros(k, np.uint8)
        ctrl[read_latency:] |= CTRL_SAMPLE_RD
        a = np.array(addrs + [addrs[-1]] * read_latency, np.int64)
        first = self.add(ctrl, self.junk(k, rng), a)
        self.reads += [(first + i, int(x), int(want[x]), int(masks[x]), when) for i, x in enumerate(addrs)]

    def read_counters(self, addrs: list[int], read_latency: int, rng: np.random.Generator) -> None:
        """Read words whose value the run decides (the corrected-upset counters of --tmr designs)."""
        k = len(addrs) + read_latency
        ctrl = np.zeros(k, np.uint8)
        ctrl[read_latency:] |= CTRL_SAMPLE_RD
        first = self.add(ctrl, self.junk(k, rng), np.array(list(addrs) + [addrs[-1]] * read_latency, np.int64))
        self.counter_reads += [(first + i, int(a)) for i, a in enumerate(addrs)]

    def vectors(self, ids, counts, gaps, bx, model: int, rng: np.random.Generator, framing: bool) -> None:
        """Vectors with their idle gaps, laid out in one go."""
        m = len(ids)
        if not m:
            return
        gaps = np.asarray(gaps, np.int64)
        pos = np.cumsum(gaps + 1) - 1                 # record of each vector, relative
        k = int(pos[-1]) + 1
        ctrl = np.zeros(k, np.uint8)
        if framing:
            ctrl |= idle_bx_resets(k, rng)
        ctrl[pos] = CTRL_VALID | (np.asarray(bx, np.uint8) * CTRL_BX_RESET if framing else 0)
        c = self.junk(k, rng)
        c[pos] = counts
        first = self.add(ctrl, c)
        self.vec_rec.append(first + pos)
        self.vec_id.append(np.asarray(ids, np.int64))
        self.vec_model.append(np.full(m, model, np.int64))
        self.vec_bx.append(np.asarray(bx, np.int64) if framing else np.zeros(m, np.int64))
        self.vec_counts.append(np.asarray(counts, np.int64))

    def finish(self) -> dict[str, np.ndarray]:
        def cat(parts, dtype=np.int64, width=None):
            if parts:
                return np.concatenate(parts)
            return np.zeros((0,) if width is None else (0, width), dtype)
        return {"rec": cat(self.vec_rec), "id": cat(self.vec_id), "model": cat(self.vec_model),
                "bx": cat(self.vec_bx), "counts": cat(self.vec_counts, width=self.lay.cells)}

    def write(self, path) -> None:
        """The binary records, packed in blocks (1,000,000 records of econt_8x8 are 137 MB)."""
        lay = self.lay
        ctrl = np.concatenate(self.ctrl)
        addr, data, counts = (np.concatenate(x) for x in (self.addr, self.data, self.counts))
        n_words = (8 * lay.charges_bytes + 63) // 64
        with open(path, "wb") as fh:
            for s in range(0, len(ctrl), 65536):
                e = min(s + 65536, len(ctrl))
                cols = [ctrl[s:e, None]]
                for val, nb in ((addr, lay.addr_bytes), (data, lay.data_bytes)):
                    if nb:
                        cols.append(((val[s:e, None] >> (8 * np.arange(nb - 1, -1, -1))) & 0xFF).astype(np.uint8))
                # Charges: cell c at bits [count_bits*c +: count_bits] of one wide word, built in 64-bit
                # limbs (least significant first), written big-endian.
                limbs = np.zeros((e - s, n_words + 1), np.uint64)
                for c in range(lay.cells):
                    v = counts[s:e, c].astype(np.uint64)
                    pos = c * lay.count_bits
                    w, sh = divmod(pos, 64)
                    limbs[:, w] |= v << np.uint64(sh)
                    if sh + lay.count_bits > 64:
                        limbs[:, w + 1] |= v >> np.uint64(64 - sh)
                le = limbs.astype("<u8").view(np.uint8).reshape(e - s, -1)[:, :lay.charges_bytes]
                cols.append(le[:, ::-1])
                fh.write(np.ascontiguousarray(np.concatenate(cols, axis=1)).tobytes())


def build_image(plan: ShardPlan, design: Design, words: list[dict[int, int]], seed: int,
                read_latency: int = 1, names: list[str] | None = None,
                masks: dict[int, int] | None = None) -> tuple[Image, dict]:
    """The shard's plan as a cycle image, as the per-vector testbench would run it.

    ``words``: the register image of every weight set (programmable designs), ``masks`` the bits of
    each address that hold codes. Framing-register writes are made between vectors after the ones in
    flight have left (the per-vector testbench also makes them while vectors stream on), then read back.
    Returns the image and the per-vector table (record, id, model, bx flag, counts).
    """
    lay = Layout(design)
    rng = np.random.default_rng([seed, plan.shard, 7])
    img = Image(lay)
    framing = design.framing
    fr = framing is not None
    names = names or [str(k) for k in range(len(words))]
    full_word = (1 << lay.data_bits) - 1

    def reset_framing() -> None:
        if fr:
            img.frame_cfg.append((img.n, framing.count_reset, framing.mask))

    # Power-up: the datapath and the configuration reset (designs with a cfg_reset port) together.
    img.reset(RESET_CYCLES, rng, configuration="cfg_reset" in design.ports)
    reset_framing()
    active = 0
    control = control_writes(design.manifest)
    settle = int(design.manifest.get("registers", {}).get("control", {}).get("commit_stages", 0)) + 3

    def load(m: int, first: bool) -> None:
        img.write_config(words[m], rng)
        if control:
            # Shadow banks: COMMIT puts the set in force (the first load also sets RD_ACTIVE and ENABLE);
            # the read-back then shows the active banks, once every stage's copy has been made.
            img.write_config(dict(control) if first else dict(control[:1]), rng)
            img.idle(settle, rng, fr)
        img.read_config(words[m], masks, f"load {names[m]}", read_latency, rng)

    if design.programmable:
        load(0, True)
    cnt = counter_words(design)
    if cnt:
        # The configuration reset cleared the corrected-upset counters: they must read 0.
        img.read_config({a: 0 for a, _ in cnt}, {a: (1 << lay.data_bits) - 1 for a, _ in cnt},
                        "corrected-upset counters after the configuration reset", read_latency, rng)
    if fr:
        want = framing.image(framing.count_reset, framing.mask)
        img.read_config(want, {a: full_word for a in want}, "framing reset values", read_latency, rng)
    events: dict[int, list[dict]] = {}
    for ev in plan.events:
        events.setdefault(int(ev["before"]), []).append(ev)
    cuts = sorted(set(events) | {0, len(plan)})
    bx = plan.bx_reset if plan.bx_reset is not None else np.zeros(len(plan), np.int64)
    drain = design.latency + (1 if fr else 0) + 2
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        for ev in events.get(lo, ()):
            if ev["kind"] == "reset":
                # vectors in flight when reset comes: none of their outputs may appear
                n = max(drain - 2, 1)
                img.vectors(np.full(n, ID_FILLER), img.junk(n, rng), np.zeros(n, np.int64),
                            rng.integers(0, 2, n), active, rng, fr)
                img.reset(RESET_CYCLES, rng)
                reset_framing()
                if design.programmable and not design.registers.keep_through_reset:
                    img.write_config(words[active], rng)
            elif ev["kind"] == "load" and design.programmable:
                img.idle(drain, rng, fr)
                active = int(ev["model"])
                load(active, False)
            elif ev["kind"] == "framing" and fr:
                img.idle(drain, rng, fr)
                count, mask = int(ev["elinks"]), int(ev["latent_mask"], 16)
                want = framing.image(count, mask)
                img.write_config(want, rng)
                img.frame_cfg.append((img.n, count, mask))
                img.read_config(want, {a: full_word for a in want}, f"framing write before vector {lo}",
                                read_latency, rng)
        img.vectors(plan.ids[lo:hi], plan.vectors.counts[lo:hi], plan.gaps[lo:hi], bx[lo:hi], active, rng, fr)
    img.idle(drain + 2, rng, fr)
    if cnt:
        img.read_counters([a for a, _ in cnt], read_latency, rng)
        img.idle(read_latency + 2, rng, fr)
    return img, img.finish()


def counter_words(design: Design) -> list[tuple[int, str]]:
    """(address, counter register) of every word of the --tmr corrected-upset counters, in address order."""
    t = design.manifest.get("tmr")
    if not t:
        return []
    c = t["counters"]
    return [(int(b["addr"]) + j, b["register"]) for b in c["blocks"] for j in range(int(c["words"]))]


# ---- reading the dumps -----------------------------------------------------

_HEX = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i
_HEX[ord("x")] = _HEX[ord("X")] = _HEX[ord("z")] = _HEX[ord("Z")] = 254     # unknown digits (Icarus)


def read_dump(path, fields: list[tuple[str, int, int]]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A dump of the harness -> {field: (n,) or (n, count) int64}, and a per-line X/Z flag.

    ``fields``: (name, count, width) in line order; each element is printed on its own in
    ceil(width / 4) hex digits (as %h prints it), element 0 first. Elements are at most 63 bits.
    """
    raw = np.fromfile(path, dtype=np.uint8)
    digits = [(w + 3) // 4 for _, _, w in fields]
    line = sum(c * d for (_, c, _), d in zip(fields, digits))
    if raw.size == 0:
        return {n: np.zeros((0,) if c == 1 else (0, c), np.int64) for n, c, _ in fields}, np.zeros(0, bool)
    nib = _HEX[raw.reshape(-1, line + 1)[:, :line]]
    unknown = (nib >= 254).any(axis=1)
    nib = np.where(nib >= 254, 0, nib).astype(np.int64)
    out, pos = {}, 0
    for (name, count, _), d in zip(fields, digits):
        seg = nib[:, pos:pos + count * d].reshape(len(nib), count, d)
        val = seg @ (np.int64(16) ** np.arange(d - 1, -1, -1, dtype=np.int64))
        out[name] = val[:, 0] if count == 1 else val
        pos += count * d
    return out, unknown


# ---- the expected outputs ---------------------------------------------------

def bx_fields(img: Image, table: dict, crossing: int = 1) -> np.ndarray:
    """BX-counter field of every vector's frame. The counter counts every crossing (``crossing``
    records), with data or not: a design reset restarts it at 0 on the first record after the reset,
    a bx_reset on any record outside reset starts a crossing that sends 31 (fillers in flight and idle
    records count too)."""
    ctrl = np.concatenate(img.ctrl) if img.ctrl else np.zeros(0, np.uint8)
    rst = (ctrl & CTRL_RST) != 0
    run = ~rst & np.r_[True, rst[:-1]] if len(ctrl) else np.zeros(0, bool)
    bxr = ((ctrl & CTRL_BX_RESET) != 0) & ~rst
    per_record = econt_framing.bx_fields_by_cycle(bxr, run, crossing)
    return per_record[table["rec"]].astype(np.int64)


def bx_reset_records(img: Image) -> np.ndarray:
    """Records with bx_reset high outside reset (the counter takes every one, data or not)."""
    ctrl = np.concatenate(img.ctrl) if img.ctrl else np.zeros(0, np.uint8)
    return np.flatnonzero(((ctrl & CTRL_BX_RESET) != 0) & ((ctrl & CTRL_RST) == 0))


def frames(design: Design, img: Image, rec: np.ndarray, latents: np.ndarray, sum_code: np.ndarray,
           bx: np.ndarray) -> np.ndarray:
    """(n, elinks) 32-bit words of the expected frames, each with the framing registers in force when
    its vector (record ``rec``) went in (writes are made with no vector in flight)."""
    fr = design.framing
    lat_port = design.port("out_latents")
    lat = latents & ((1 << lat_port.element_width) - 1)
    starts = np.array([c[0] for c in img.frame_cfg], np.int64)
    which = np.searchsorted(starts, rec, side="right") - 1
    out = np.zeros((len(rec), fr.elinks), np.int64)
    for k in np.unique(which):
        idx = np.flatnonzero(which == k)
        _, count, mask = img.frame_cfg[int(k)]
        out[idx] = econt_framing.port_words(lat[idx], sum_code[idx], bx[idx], count, fr.elinks, mask,
                                            lat_port.element_width, design.port("out_sum_code").width)
    return out
