"""Single-event upsets in simulation: which registers a design has, where upsets land, what they did.

- ``inventory(design)``: every flip-flop of a design, as registers with a
  hierarchical path below the top, a width and a kind (configuration,
  pipeline, valid, output, framing, read-back, counter). It is read from
  the generated Verilog (``reg`` declarations of the top and of the clocked
  modules it instantiates) and the primitives' known registers, so it needs
  nothing the design does not already have.
- ``campaign(...)``: N upsets, seeded: a register bit drawn uniformly over
  the bits of the chosen kinds, a cycle drawn among the cycles of the
  vector stream, upsets at least ``window`` cycles apart so each is judged
  alone. An upset of a register that holds its value (configuration) is
  given back after the window, as a scrub by the slow-control link would:
  otherwise one upset of a weight would corrupt every later inference and
  be blamed on the upsets after it.
- ``attribute(...)``: which upsets reached an output (a mismatching,
  missing or stale output or frame stamped within its window), and the
  sensitivity: the fraction of upsets that did (over uniformly drawn bits:
  the fraction of register bits whose upset corrupts an output) and the
  affected crossings per upset.

The injection itself is compiled into the bulk harness only
(``encoder.verif.bulk``), never into the design.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..rtl_gen.tmr_full import RENAMES as TMR_FULL_RENAMES

KINDS = ("config", "control", "pipeline", "valid", "output", "framing", "framing_config", "readback", "counter")
HELD_KINDS = ("config", "control", "framing_config", "counter")       # hold their value until written: given back after the window
DEFAULT_WINDOW = 32      # cycles between upsets: the hold below plus any latency of the kit's designs
HOLD = 16                # cycles a held register keeps an upset before it is given back
# The BX counter and its phase within the crossing count on: an upset lasts until the counter restarts
# (bx_reset, reset).
PERSISTENT = ("bx_count", "bx_phase")
PERSIST_MARGIN = 12      # cycles before the window's end by which the restart must come (latency, drain)


@dataclass(frozen=True)
class Register:
    path: str            # hierarchical name below the design's top, e.g. u_cfg_conv_weight_b0.bank
    width: int
    kind: str

    @property
    def held(self) -> bool:
        return self.kind in HELD_KINDS


def _frame_cfg_regs(p: dict[str, int]) -> list[tuple[str, int, str]]:
    """enc_frame_cfg: the e-link count and one register per latent-mask word (a generate loop): held
    configuration, but of the framing block, not of the bank that --tmr config triplicates."""
    data, mask = p.get("DATA_BITS", 6), p.get("MASK_BITS", 144)
    words = (mask + data - 1) // data
    return [("count_q", p.get("COUNT_BITS", 3), "framing_config")] + [
        (f"g_mask[{j}].word_q", min(data, mask - data * j), "framing_config") for j in range(words)]


def _frame_regs(p: dict[str, int]) -> list[tuple[str, int, str]]:
    """enc_elink_frame: the BX counter (with crossings of several cycles its phase and held-31 flag too),
    tx_valid and tx_data."""
    crossing = p.get("CROSSING", 1)
    phase = [("g_phase.bx_phase", (crossing - 1).bit_length(), "framing"),
             ("g_phase.bx_held", 1, "framing")] if crossing > 1 else []
    return [("bx_count", 4, "framing")] + phase + [("tx_valid", 1, "framing"),
                                                  ("tx_data", 32 * p.get("N_ELINKS", 5), "framing")]


def _bank_regs(p: dict[str, int]) -> list[tuple[str, int, str]]:
    """enc_cfg_block: the bank writes land in and, with SHADOW, the active bank."""
    bits = p.get("COUNT", 64) * p.get("WIDTH", 6)
    return [("written", bits, "config")] + ([("g_shadow.active", bits, "config")] if p.get("SHADOW", 1) else [])


def _bank_tmr_regs(p: dict[str, int]) -> list[tuple[str, int, str]]:
    """enc_cfg_block_tmr: three copies of each bank (one triplet per bank), and the counter."""
    bits = p.get("COUNT", 64) * p.get("WIDTH", 6)
    banks = ["u_written"] + (["g_shadow.u_active"] if p.get("SHADOW", 1) else [])
    return [(f"{b}.u_copy{k}.q", bits, "config") for b in banks for k in range(3)] + [
        ("corrected", p.get("CNT_BITS", 12), "counter")]


def _ctrl_regs(p: dict[str, int]) -> list[tuple[str, int, str]]:
    """enc_cfg_ctrl: ENABLE, RD_ACTIVE, the loaded flag, COMMITS, UNMAPPED, DROPPED and the commit strobes."""
    data = p.get("DATA_BITS", 6)
    return [("enable", 1, "control"), ("read_active", 1, "control"), ("loaded", 1, "control"),
            ("commits", data, "control"), ("unmapped", data, "control"), ("dropped", data, "control"),
            ("commit_pipe", p.get("STAGES", 1), "control")]


# Registers inside the hand-written primitives, from the instance's parameters: (path, width, kind).
PRIMITIVE_REGS = {
    "enc_cfg_block": _bank_regs,
    "enc_cfg_block_tmr": _bank_tmr_regs,
    "enc_cfg_ctrl": _ctrl_regs,
    "enc_elink_frame": _frame_regs,
    "enc_frame_cfg": _frame_cfg_regs,
}



def _triplicated(base):
    """A primitive's registers in its --tmr full form (encoder.rtl_gen.tmr_full): register X as the
    three copies of enc_tmr_reg u_tmr_X beside it; copies of triplets it already had stay as they are."""
    def regs(p: dict[str, int]) -> list[tuple[str, int, str]]:
        out = []
        for path, width, kind in base(p):
            if triplet(path) is not None:
                out.append((path, width, kind))
                continue
            head, _, leaf = path.rpartition(".")
            out += [(f"{head}{'.' if head else ''}u_tmr_{leaf}.u_copy{k}.q", width, kind) for k in range(3)]
        return out
    return regs


PRIMITIVE_REGS.update({new: _triplicated(PRIMITIVE_REGS[old]) for old, new in TMR_FULL_RENAMES.items()})

_COPY = re.compile(r"^(.*)\.u_copy([012])\.q$")


def _persists(path: str, multiplicity: int) -> bool:
    """Does an upset of this register last past its window? The BX counter's does, and so does a double
    upset of its triplicated form (--tmr full), which the voter passes on to the next count."""
    t = triplet(path)
    if t is None:
        return path.endswith(PERSISTENT)
    return multiplicity > 1 and t[0].endswith(tuple("u_tmr_" + name for name in PERSISTENT))


def triplet(path: str) -> tuple[str, int] | None:
    """(triplet, copy number) of a register that is one copy of a triplicated register, else None."""
    m = _COPY.match(path)
    return (m.group(1), int(m.group(2))) if m else None

_REG = re.compile(r"^\s*(?:output\s+)?reg\s*(?:\[([^\]:]+):([^\]]+)\])?\s*(\w+)\s*(?:[;,]|//|$)", re.M)
_INST = re.compile(r"^\s*(\w+)\s*(?:#\((.*?)\)\s*)?(\w+)\s*\(", re.M | re.S)
_PARAM = re.compile(r"\.(\w+)\((\d+)\)")


def _eval(expr: str, params: dict[str, int] | None = None) -> int:
    expr = expr.strip()
    for k, v in (params or {}).items():
        expr = re.sub(rf"\b{k}\b", str(v), expr)
    if not re.fullmatch(r"[\d\s+\-*/()]+", expr):
        raise ValueError(f"cannot size register range {expr!r}")
    return int(eval(expr, {"__builtins__": {}}))     # digits and + - * / ( ) only, checked above


def _kind(name: str) -> str:
    if name.startswith("valid_pipe") or name.startswith("bx_reset_pipe"):
        return "valid"
    if name in ("latents", "sum_code"):
        return "output"
    if name == "cfg_rdata":
        return "readback"
    if name.startswith("seu_") or name.endswith("_count"):
        return "counter"
    return "pipeline"


def _module_regs(text: str) -> list[tuple[str, int]]:
    """(name, width) of the registers a generated module declares (combinational regs excluded)."""
    out = []
    for hi, lo, name in _REG.findall(text):
        width = 1 if not hi else _eval(hi) - _eval(lo) + 1
        # A reg written only in always @* is a wire in hardware; the generated modules use
        # `always @(posedge clk) NAME <=` or an output register block for every flip-flop.
        if re.search(rf"\b{name}\s*<=", text):
            out.append((name, width))
    return out


def inventory(design_dir: Path, top: str, sources: list[Path]) -> list[Register]:
    """Every register of the generated design, depth first from the top."""
    return inventory_of_texts(top, {p.stem: p.read_text() for p in sources})


def inventory_of_texts(top: str, texts: dict[str, str]) -> list[Register]:
    """``inventory`` of a design held as module name -> Verilog text."""
    regs: list[Register] = []

    def walk(module: str, prefix: str, params: dict[str, int]) -> None:
        if module == "enc_tmr_reg":
            # --tmr full: a generated module's register X, triplicated as u_tmr_X
            name = prefix.rstrip(".").rsplit(".", 1)[-1].removeprefix("u_tmr_")
            regs.extend(Register(f"{prefix}u_copy{k}.q", params["WIDTH"], _kind(name)) for k in range(3))
            return
        if module in PRIMITIVE_REGS:
            for name, width, kind in PRIMITIVE_REGS[module](params):
                regs.append(Register(prefix + name, width, kind))
            return
        text = texts.get(module)
        if text is None or module.startswith("enc_"):
            return          # the other primitives are combinational
        for name, width in _module_regs(text):
            regs.append(Register(prefix + name, width, _kind(name)))
        body = text.split(");", 1)[1] if ");" in text else text
        for mod, ptext, inst in _INST.findall(body):
            if mod in texts and mod != module:
                walk(mod, f"{prefix}{inst}.", {k: int(v) for k, v in _PARAM.findall(ptext or "")})

    walk(top, "", {})
    return regs


@dataclass
class Upset:
    cycle: int
    target: int          # index into the inventory
    bit: int
    register: str
    kind: str

    def to_dict(self) -> dict:
        return {"cycle": self.cycle, "register": self.register, "bit": self.bit, "kind": self.kind}


def parse_kinds(text: str | None) -> tuple[str, ...]:
    if not text or text == "all":
        return KINDS
    kinds = tuple(k.strip() for k in text.split(","))
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise UserError(f"--seu-target: unknown kind {bad[0]!r} (choose from all, {', '.join(KINDS)})")
    return kinds


def campaign(regs: list[Register], n: int, first: int, last: int, seed: int, kinds: tuple[str, ...] = KINDS,
             window: int = DEFAULT_WINDOW, multiplicity: int = 1, writes=None, restarts=None) -> list[list[Upset]]:
    """``n`` upset events between cycles ``first`` and ``last``, seeded; each event flips ``multiplicity``
    bits in the same cycle. On a triplicated register the further bits are the same bit in other copies
    of its triplet (a double upset in one triplet, which the voter cannot correct); elsewhere they are
    other random bits. ``writes``: sorted records with a configuration write, kept clear of.
    ``restarts``: sorted cycles at which the BX counter restarts (bx_reset BXs, resets): an upset of the
    counter lasts until the next one, so it is placed only where one follows within the window (at
    other cycles the bit is drawn again), lest its wrong frames be blamed on the upsets after it.
    Returns one list of upsets per event."""
    pool = [i for i, r in enumerate(regs) if r.kind in kinds]
    if not pool:
        raise UserError(f"--seu-target: the design has no register of kind {', '.join(kinds)}")
    widths = np.array([regs[i].width for i in pool], np.int64)
    span = last - first
    rng = np.random.default_rng([seed, 16])
    # Cycles free of configuration writes and read-backs within reach: a write landing on a flipped (or
    # given-back) bit would mix the upset with the load, a read-back would show it.
    free = np.arange(first, last - window + 1)
    writes = np.asarray(writes if writes is not None else [], np.int64)
    if len(writes) and len(free):
        near = np.searchsorted(writes, free - 4)
        free = free[~((near < len(writes)) & (writes[np.minimum(near, len(writes) - 1)] <= free + window + 4))]
    # One upset per share of the free cycles, at a random one of its share, `window` after the last.
    step = len(free) // n if n else 0
    if n and step < 1:
        raise UserError(f"--seu: {n} upsets {window} cycles apart need more vector stream than the run's "
                        f"{span} cycles; run more --vectors")
    cycles, prev = [], None
    for k in range(n):
        i = k * step + int(rng.integers(0, step))
        if prev is not None and free[i] < prev + window:
            i = int(np.searchsorted(free, prev + window))
        if i >= len(free):
            raise UserError(f"--seu: {n} upsets {window} cycles apart do not fit the {len(free)} cycles free of "
                            f"configuration accesses; run more --vectors or fewer --seu")
        cycles.append(int(free[i]))
        prev = cycles[-1]
    cycles = np.array(cycles, np.int64)
    cum = np.cumsum(widths)
    by_path = {r.path: i for i, r in enumerate(regs)}
    events = []
    restarts = np.asarray(restarts if restarts is not None else [], np.int64)

    def settles(c: int) -> bool:
        k = int(np.searchsorted(restarts, c))
        return k < len(restarts) and restarts[k] <= c + window - PERSIST_MARGIN

    for c in cycles.tolist():
        for _ in range(100):
            picks = rng.choice(int(cum[-1]), size=multiplicity, replace=False)
            js = np.searchsorted(cum, picks, side="right")
            if all(not _persists(regs[pool[int(j)]].path, multiplicity) or settles(c) for j in js):
                break
        ups = []
        for p in picks.tolist():
            j = int(np.searchsorted(cum, p, side="right"))
            bit = p - (int(cum[j - 1]) if j else 0)
            r = regs[pool[j]]
            ups.append(Upset(int(c), pool[j], int(bit), r.path, r.kind))
            t = triplet(r.path)
            if t is not None and multiplicity > 1:
                others = [k for k in range(3) if k != t[1]]
                for k in rng.permutation(others)[:multiplicity - 1].tolist():
                    i = by_path[f"{t[0]}.u_copy{k}.q"]
                    ups.append(Upset(int(c), i, int(bit), regs[i].path, regs[i].kind))
                break
        events.append(ups)
    return events


def write_events(path: Path, regs: list[Register], events: list[list[Upset]], window: int) -> None:
    """The harness's upset file: 'cycle op target bit ref', in cycle order. Op 0 flips the bit (flip
    number ref, counted from 0); op 1 gives a held register's bit back the value it had before flip ref."""
    lines = []
    k = 0
    for ups in events:
        for u in ups:
            lines.append((u.cycle, 0, u.target, u.bit, k))
            # A held register is given back its value after the hold; a copy of a triplet needs it
            # only when its triplet took more than one upset (the voter corrects a single one).
            if regs[u.target].held and (triplet(u.register) is None or len(ups) > 1):
                lines.append((u.cycle + min(HOLD, window - 1), 1, u.target, u.bit, k))
            k += 1
    out = [f"{c} {op} {t} {b} {r}" for c, op, t, b, r in sorted(lines, key=lambda x: (x[0], x[1], x[4]))]
    path.write_text("\n".join(out) + ("\n" if out else ""))


def summarise(regs: list[Register], upsets: list[list[list[Upset]]], bad: list[np.ndarray], window: int,
              counters: dict | None = None) -> dict:
    """The campaign's figures for summary.json.

    ``upsets``: per shard, the events (each a list of upsets in one cycle); ``bad``: per shard, every
    wrong, missing or stale output and frame as (stamp, record of its crossing). A wrong output is
    blamed on the latest event at or before its stamp, within ``window`` cycles.
    """
    injected = sum(len(ups) for shard in upsets for ups in shard)
    reached, errors_total, unattributed, doubles = [], 0, 0, []
    by_kind: dict[str, dict] = {}
    crossings = 0
    for k, (events, b) in enumerate(zip(upsets, bad)):
        cycles = np.array([ups[0].cycle for ups in events], np.int64)
        if len(b):
            e = np.searchsorted(cycles, b[:, 0], side="right") - 1
            ok = (e >= 0) & (b[:, 0] - cycles[np.maximum(e, 0)] < window) if len(cycles) else np.zeros(len(b), bool)
            unattributed += int(np.count_nonzero(~ok))
        else:
            e, ok = np.zeros(0, np.int64), np.zeros(0, bool)
        for i, ups in enumerate(events):
            mine = b[(e == i) & ok] if len(b) else np.zeros((0, 2), np.int64)
            hit = len(mine) > 0
            n_cross = len(np.unique(mine[:, 1])) if hit else 0
            errors_total += len(mine)
            crossings += n_cross
            for u in ups:
                kd = by_kind.setdefault(u.kind, {"injected": 0, "reached_output": 0})
                kd["injected"] += 1
                kd["reached_output"] += int(hit)
            trip = [triplet(u.register) for u in ups]
            double = len(ups) > 1 and trip[0] is not None and all(t is not None and t[0] == trip[0][0] for t in trip)
            if double:
                doubles.append({"shard": k, "cycle": ups[0].cycle, "triplet": trip[0][0], "bit": ups[0].bit,
                                "copies": sorted(t[1] for t in trip), "reached_output": bool(hit),
                                "wrong_outputs": int(len(mine))})
            if hit:
                reached.append({"shard": k, "cycle": ups[0].cycle, "upsets": [u.to_dict() for u in ups],
                                "wrong_outputs": int(len(mine)), "crossings": n_cross,
                                "first_wrong_output_cycle": int(mine[:, 0].min())})
    bits = {}
    for r in regs:
        bits[r.kind] = bits.get(r.kind, 0) + r.width
    for kind, kd in by_kind.items():
        kd["fraction"] = round(kd["reached_output"] / kd["injected"], 4) if kd["injected"] else None
        kd["register_bits"] = bits.get(kind, 0)
    n_events = sum(len(shard) for shard in upsets)
    out = {
        "seu_injected": injected,
        "seu_events": n_events,
        "seu_corrected": None if counters is None else counters.get("total"),
        "seu_output_errors": errors_total + unattributed,
        "seu_unattributed_errors": unattributed,
        "seu_reached_output": reached,
        "seu_sensitivity": {
            "upsets_reaching_output": len(reached),
            "fraction": round(len(reached) / n_events, 4) if n_events else None,
            "affected_crossings_per_upset": round(crossings / n_events, 4) if n_events else None,
            "by_kind": by_kind,
            "register_bits": bits,
            "window_cycles": window, "hold_cycles": HOLD,
            "meaning": "fraction: upsets (register bits drawn uniformly over the targeted kinds) that corrupted "
                       "at least one output or frame; affected crossings: wrong crossings per upset",
        },
    }
    kinds_hit = set(by_kind)
    if any(_persists(u.register, len(ups)) for shard in upsets for ups in shard for u in ups) and len(kinds_hit) > 1:
        # Placed so that a restart follows within the window; should one be missed, say so.
        out["seu_sensitivity"]["note"] = ("the campaign hit the BX counter, whose upsets last until the next "
                                          "bx_reset; they were placed where one follows within the window")
    if doubles:
        # Two copies of one triplet hit in the same cycle: the voter takes the wrong value (and the
        # counter counts one correction); listed apart so they are never mistaken for single upsets.
        out["seu_double_upsets_in_one_triplet"] = doubles
    if counters is not None:
        injected_in = {}
        for shard in upsets:
            for ups in shard:
                for u in ups:
                    t = triplet(u.register)
                    # the counters count the banks' upsets (--tmr full corrects the rest without counting)
                    if t is not None and u.kind == "config":
                        injected_in[t[0]] = injected_in.get(t[0], 0) + 1
        per = {}
        for block, value in counters["blocks"].items():
            mine = sum(v for t, v in injected_in.items() if t.startswith(block + "."))
            per[block] = {"counter": value, "upsets_in_its_copies": mine}
        out["seu_counters"] = {"blocks": per, "total": counters["total"], "saturated": counters["saturated"],
                               "equal_to_upsets_injected": all(v["counter"] == v["upsets_in_its_copies"]
                                                               for v in per.values())}
    return out


def console_line(summary: dict) -> str:
    s = summary["seu_sensitivity"]
    corr = summary.get("seu_corrected")
    return (f"encoder sim: upsets: {summary['seu_injected']} injected in {summary['seu_events']} events, "
            f"{s['upsets_reaching_output']} reached an output ({summary['seu_output_errors']} wrong outputs or "
            f"frames; sensitivity {s['fraction']}, {s['affected_crossings_per_upset']} crossings per upset)"
            + (f"; counters report {corr} corrected" if corr is not None else ""))
