"""``encoder rtl --pipeline auto``: place register stages so the mapped design meets the clock.

Characterise, choose, verify:

1. The design is generated with a register stage at every cut point
   (``encoder.rtl_gen.cuts``), mapped to the library and timed: every
   segment between two neighbouring cut points is then a register stage
   of its own, and OpenSTA's worst arrival at its registers is that
   segment's delay, measured in this library with this flow.
2. Merging neighbouring segments adds their delays (a little pessimistic:
   each boundary removed also removes a clock-to-Q delay). The fewest
   stages whose every run of segments fits the budget are chosen by
   dynamic programming, ties broken by fewer flip-flops.
3. The chosen design is mapped and timed for real. If it misses, the
   budget shrinks by the miss and step 2 runs again.
4. Summed segment delays overstate a merged stage by far more than the
   clock-to-Q they include: the worst path of one segment seldom continues
   into the worst path of the next (the chip configuration's dense layer
   and outputs: 24.6 ns summed, 16.5 ns as one stage). So once a placement
   meets the clock, one stage fewer is tried, cut where the larger of the
   summed halves is smallest, and kept if it meets the clock too (at most
   ``SQUEEZE_TRIES`` times, or down to ``--max-latency``).

Paths from the configuration registers into the datapath are timed like
any other (weights may be written in any cycle), so programmable designs
close timing with those paths included.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UserError
from ..pdk import resolve
from . import mapping, timing
from .activity import flip_flops
from .flow import constraints_for

OUT = "outputs"
# No cut is forced any more: the input-path register was, while flip-flop outputs and nets into
# submodule pins went unbuffered (one o21ai_0 at 35 ns on the chip configuration); the fanout
# trees of encoder.silicon.fanout took that stage from 15.5 to 2.8 ns.
FORCED: tuple[str, ...] = ()
# Tries with one stage fewer than a placement that met the clock (see ``squeeze``).
SQUEEZE_TRIES = 2
# A squeeze is mapped unless its prediction exceeds the budget by more than this: the overstatement
# varies between placements (merged stages arrived at 0.65-0.79 of their summed delays on the chip
# configuration, econt_8x8 and econt_4x4x3), so a prediction near the budget is worth a mapping.
SQUEEZE_MARGIN = 1.15


@dataclass
class Closure:
    cuts: list[str]
    latency_cycles: int
    clock_ns: float
    wns_ns: float
    met: bool
    segments: dict[str, float]              # characterised delay of each segment, ns
    iterations: list[dict] = field(default_factory=list)
    liberty: str = ""
    mapped: object = None                   # the verified mapping, when auto_pipeline was given `keep`
    timing: object = None

    def to_dict(self) -> dict:
        return {"mode": "auto", "liberty": self.liberty, "clock_ns": self.clock_ns, "cuts": self.cuts,
                "latency_cycles": self.latency_cycles, "latency_ns": round(self.latency_cycles * self.clock_ns, 3),
                "wns_ns": self.wns_ns, "met": self.met, "segment_delays_ns": self.segments,
                "iterations": self.iterations}


def segment_of(path: tuple[str, ...], net: str, layers: list[str]) -> str | None:
    """Which cut point's registers a flip-flop belongs to (None: configuration, read-back, valid, carries)."""
    scoped = re.sub(r"\[\d+\]$", "", net)
    base = scoped.split(".")[-1]
    # A flip-flop's Q net carries the name of the wire it drives, which may be the next block's
    # port: the charge registers drive the (flattened) input path's `charges`, a MAC's
    # accumulator register drives `acc`.
    if not path and scoped.startswith("u_input_path."):     # flattened into the top before mapping
        return "charges" if base == "charges" else "input_path.sum"
    if not path:
        if base.startswith("charges_q"):
            return "charges"
        if base.startswith("cell_codes_q"):
            return "input_path"
        for name in layers:
            if base.startswith(f"{name}_out_q"):
                return name
        if base.startswith(("latents", "sum_code", "tx_data")):
            return OUT
        return None
    head = path[0]
    if head == "u_input_path":
        return "input_path.sum"
    for name in layers:
        if head == f"u_{name}":
            # With every cut on, a MAC registers its products (name_q), then half-way through the
            # tree the sums made so far (sum_l*_q) and the leaves not yet summed (name_q_q), then
            # the accumulator (acc_q).
            if base in ("acc_q", "acc"):
                return f"{name}.accumulator"
            if base.startswith("sum_l") or base.endswith("_q_q"):
                return f"{name}.tree"
            return f"{name}.products"
    return None


def stage_delays(report: str, ffs, layers: list[str]) -> tuple[dict[str, float], float | None]:
    """Worst arrival (ns) at the registers of each segment, from ``report_checks -format end``, and
    the earliest required time among those registers and the outputs (the clock minus setup)."""
    net_of = {pin.rsplit("/", 1)[0]: (path, net) for pin, path, net, _ in ffs}
    worst: dict[str, float] = {}
    required: list[float] = []
    for endpoint, kind, req, arrival, _slack in timing.END_ROW.findall(report):
        if kind == "output":
            seg = OUT
        else:
            inst = endpoint.rsplit("/", 1)[0]
            seg = segment_of(*net_of[inst], layers) if inst in net_of else None
        if seg is not None:
            worst[seg] = max(worst.get(seg, 0.0), float(arrival))
            required.append(float(req))
    return worst, (min(required) if required else None)


def choose(order: list[str], delays: dict[str, float], costs: dict[str, int], budget: float,
           forced: tuple[str, ...] = ()) -> list[str] | None:
    """Fewest cuts (then fewest flip-flops) so that every stage's summed segment delay fits ``budget``.

    ``order``: segment names in datapath order, the last being the outputs; segment k ends at cut
    ``order[k]``. Returns the cut names, or None if one segment alone exceeds the budget."""
    n = len(order)
    d = [delays.get(s, 0.0) for s in order]
    if max(d) > budget:
        return None
    INF = (10**9, 10**9)
    best: list[tuple[int, int]] = [INF] * (n + 1)      # best[j]: segments 0..j-1 done, cut after j-1
    back = [-1] * (n + 1)
    best[0] = (0, 0)
    for j in range(1, n + 1):
        total = 0.0
        for i in range(j - 1, -1, -1):                 # stage = segments i..j-1
            total += d[i]
            if total > budget:
                break
            if best[i] == INF:
                continue
            if any(order.index(f) in range(i, j - 1) for f in forced if f in order):
                continue                               # a forced cut may not sit inside a stage
            cut_cost = (1, costs.get(order[j - 1], 0)) if j < n else (0, 0)
            cand = (best[i][0] + cut_cost[0], best[i][1] + cut_cost[1])
            if cand < best[j]:
                best[j], back[j] = cand, i
    if best[n] == INF:
        return None
    cuts, j = [], n
    while j > 0:
        i = back[j]
        if j < n:
            cuts.append(order[j - 1])
        j = i
    return sorted(cuts, key=order.index)


def balanced(order: list[str], delays: dict[str, float], costs: dict[str, int], n_cuts: int,
             forced: tuple[str, ...] = ()) -> list[str] | None:
    """``n_cuts`` cuts that minimise the largest summed stage delay (then the flip-flops); None if
    there are fewer cut points than that, or the forced cuts do not fit in ``n_cuts``."""
    n = len(order)
    d = [delays.get(s, 0.0) for s in order]
    inf = (float("inf"), 0)
    # best[k][j]: segments 0..j-1 in k+1 stages, the last ending at j-1; value (max stage, cost).
    best = [[inf] * (n + 1) for _ in range(n_cuts + 1)]
    back = [[-1] * (n + 1) for _ in range(n_cuts + 1)]
    forced_at = {order.index(f) for f in forced if f in order}
    for k in range(n_cuts + 1):
        for j in range(1, n + 1):
            cut_cost = costs.get(order[j - 1], 0) if j < n else 0
            for i in range(j - 1, -1, -1):              # last stage = segments i..j-1
                if any(i <= f < j - 1 for f in forced_at):
                    break
                if k == 0:
                    if i > 0:
                        continue
                    prev = (0.0, 0)
                else:
                    if i == 0 or best[k - 1][i] == inf:
                        continue
                    prev = best[k - 1][i]
                cand = (max(prev[0], sum(d[i:j])), prev[1] + cut_cost)
                if cand < best[k][j]:
                    best[k][j], back[k][j] = cand, i
    if best[n_cuts][n] == inf:
        return None
    cuts, j = [], n
    for k in range(n_cuts, -1, -1):
        i = back[k][j]
        if j < n:
            cuts.append(order[j - 1])
        j = i
    return sorted(cuts, key=order.index)


def _map_and_time(design, lib, clock_ns: float, work: Path, detail: bool, progress: bool):
    """Map and time ``design``; with ``detail`` also every datapath endpoint's worst path, in the same
    OpenSTA run."""
    from ..rtl_gen import write_design
    ddir = work / "design"
    write_design(design, ddir, force=True)
    mapped = mapping.map_design(ddir, lib, work / "map", clock_ns, "delay", progress)
    cons = constraints_for(lib, mapped.liberty.read_text(), clock_ns)
    extra = (f"report_checks -path_delay max -group_count {mapped.flip_flops + 4096} -endpoint_count 1 "
             f"-format end -digits 3 -path_group clk\n") if detail else ""
    tim, report = timing.analyse_with(mapped.liberty, mapped.netlist, mapped.top, cons, work / "sta", extra)
    return mapped, tim, report


def _place(ir, weights, elinks, ir_text, order, delays, costs, budget, lib, clock_ns, work, iterations,
           progress, log, max_latency=None):
    """Choose, map, time; on a miss shrink the budget by it and choose again (3 tries at most).
    Returns (cuts, design, mapped, timing) of a placement that meets the clock, or None."""
    from ..rtl_gen import generate
    for it in range(3):
        cuts = choose(order, delays, costs, budget, FORCED)
        if cuts is None:
            return None
        design = generate(ir, weights, cuts=cuts, elinks=elinks, ir_text=ir_text)
        mapped, tim, _ = _map_and_time(design, lib, clock_ns, work / f"try{it}", False, progress)
        iterations.append({"cuts": cuts, "latency": design.manifest["latency"], "wns_ns": tim.wns_ns,
                           "budget_ns": round(budget, 3)})
        log(f"  try {len(iterations)}: {', '.join(cuts) or 'no inner stage'} -> latency "
            f"{design.manifest['latency']}, worst slack {tim.wns_ns:+.2f} ns")
        if tim.met:
            return squeeze(ir, weights, elinks, ir_text, order, delays, costs, lib, clock_ns, budget, work,
                           iterations, progress, log, (cuts, design, mapped, tim), max_latency)
        budget += tim.wns_ns - 0.2          # shrink by the miss and a little more
    return None


def longest_stage(order: list[str], delays: dict[str, float], cuts: list[str]) -> float:
    """The largest summed segment delay of one stage, with register stages at ``cuts``."""
    worst, total = 0.0, 0.0
    for name in order:
        total += delays.get(name, 0.0)
        if name in cuts or name == order[-1]:
            worst, total = max(worst, total), 0.0
    return worst


def squeeze(ir, weights, elinks, ir_text, order, delays, costs, lib, clock_ns, budget, work, iterations,
            progress, log, met, max_latency):
    """From a placement that meets the clock, try one stage fewer, balanced on the summed delays,
    while it keeps meeting the clock: ``SQUEEZE_TRIES`` tries, or as many as it takes to come
    down to ``max_latency``."""
    from ..rtl_gen import generate
    tries = 0
    while met[0]:
        latency = met[1].manifest["latency"]
        if tries >= SQUEEZE_TRIES and (max_latency is None or latency <= max_latency):
            break
        cuts = balanced(order, delays, costs, len(met[0]) - 1, FORCED)
        if cuts is None:
            break
        # How much the summed delays overstated the placement that met: its longest stage really
        # arrived at (budget - slack). A try predicted to miss even at that ratio is not mapped.
        ratio = (budget - met[3].wns_ns) / max(longest_stage(order, delays, met[0]), 1e-9)
        predicted = ratio * longest_stage(order, delays, cuts)
        if predicted > SQUEEZE_MARGIN * budget and (max_latency is None or latency <= max_latency):
            log(f"  one stage fewer ({', '.join(cuts) or 'no inner stage'}) not tried: predicted "
                f"{predicted:.1f} ns against {budget:.1f} ns")
            break
        tries += 1
        design = generate(ir, weights, cuts=cuts, elinks=elinks, ir_text=ir_text)
        mapped, tim, _ = _map_and_time(design, lib, clock_ns, work / f"squeeze{tries}", False, progress)
        iterations.append({"cuts": cuts, "latency": design.manifest["latency"], "wns_ns": tim.wns_ns,
                           "squeeze": True})
        log(f"  one stage fewer: {', '.join(cuts) or 'no inner stage'} -> latency "
            f"{design.manifest['latency']}, worst slack {tim.wns_ns:+.2f} ns")
        if not tim.met:
            break
        met = (cuts, design, mapped, tim)
    return met


def auto_pipeline(ir, weights: str, clock_ns: float, liberty: str = "sky130hd", elinks=None,
                  max_latency: int | None = None, progress: bool = True, log=print, ir_text: str | None = None,
                  keep: Path | None = None):
    """The design of ``ir`` with register stages chosen to meet ``clock_ns`` in ``liberty``.

    ``keep``: a directory that receives the verified mapping (netlist and Liberty copy), returned
    as ``closure.mapped`` and ``closure.timing`` so a report need not map the design again."""
    from ..rtl_gen import generate
    from ..rtl_gen.cuts import available_cuts
    from ..rtl_gen.plan import plan_design
    lib = resolve(liberty)
    plan = plan_design(ir, weights)
    points = available_cuts(plan, framing=elinks is not None)
    order = [c.name for c in points] + [OUT]
    costs = {c.name: c.bits for c in points}
    layers = [lp.name for lp in plan.layers]
    with tempfile.TemporaryDirectory(prefix="encoder-pipeline-") as tmp:
        tmp = Path(tmp)
        full = generate(ir, weights, cuts=[c.name for c in points], elinks=elinks, ir_text=ir_text)
        iterations: list[dict] = []
        # One characterisation: ABC's target is already a fifth of the clock (mapping.ABC_TARGET_FRACTION),
        # tighter than any registered segment needs.
        log(f"characterising {len(points)} cut points at {clock_ns:g} ns in {lib.name}: every stage registered")
        mapped, tim, report = _map_and_time(full, lib, clock_ns, tmp / "all", True, progress)
        ffs = flip_flops(mapped.netlist, mapped.top, mapped.sequential)
        delays, required = stage_delays(report, ffs, layers)
        delays = {s: round(delays.get(s, 0.0), 3) for s in order}
        # A stage's logic must arrive by its flip-flops' required time (the clock minus their setup).
        budget = required if required is not None else clock_ns
        log("  segment delays (ns): " + ", ".join(f"{s} {v:.2f}" for s, v in delays.items())
            + f"; budget {budget:.2f} ns")
        found = _place(ir, weights, elinks, ir_text, order, delays, costs, budget, lib, clock_ns, tmp,
                       iterations, progress, log, max_latency)
        if found is None:
            slow = max(delays, key=delays.get)
            raise UserError(f"--pipeline auto: no placement of the available register stages met {clock_ns:g} ns "
                            f"in {lib.name} (slowest segment {slow!r}: {delays[slow]:.2f} ns against "
                            f"{budget:.2f} ns; tries: {len(iterations)})")
        cuts, design, last, tim = found
        kept = None
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for f in (last.netlist, last.liberty):
                shutil.copyfile(f, keep / f.name)
            kept = replace(last, netlist=keep / last.netlist.name, liberty=keep / last.liberty.name)
    latency = design.manifest["latency"]
    if max_latency is not None and latency > max_latency:
        raise UserError(f"--pipeline auto: meeting {clock_ns:g} ns in {lib.name} takes {latency} cycles, more "
                        f"than --max-latency {max_latency}")
    closure = Closure(cuts=cuts, latency_cycles=latency, clock_ns=clock_ns, wns_ns=tim.wns_ns, met=tim.met,
                      segments=delays, iterations=iterations, liberty=lib.name, mapped=kept, timing=tim)
    return design, closure
