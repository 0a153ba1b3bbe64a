"""Named places for register stages ("cuts"), what each costs, and the set a design uses.

In datapath order:

- ``charges``: on the charge inputs;
- ``input_path.sum``: inside the input path, after the module sum and its
  leading one, before the normalisers and the module-sum code;
- ``input_path``: after the input path (input codes and module-sum code);
- per MAC layer ``L`` (the plan's layer names):
  ``L.products`` on every product (with constant weights in the fused form:
  every input of an output's MAC, i.e. the products' slices of the shared
  multiples, their exact bits and the shared sums of products),
  ``L.tree`` half-way through every output's adder tree (by levels),
  ``L.accumulator`` after the adder tree and the bias, before the
  activation and requantization,
  ``L`` after the layer's output codes (not for the last layer: its outputs
  go into the output registers).

A stage delays everything that crosses it by one cycle: the valid pipeline
grows by a bit, and from the input path on the module-sum code travels in a
register of its own beside the data, so that it reaches the outputs with its
latents. ``--pipeline N`` keeps its meaning: N + 1 stages taken from
``PIPELINE_ORDER`` (the first is the default mid-point).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import UserError
from .common import Options
from .plan import DesignPlan

MAC_STAGES = ("products", "tree", "accumulator")      # inside a layer, in datapath order


@dataclass(frozen=True)
class Cut:
    """A place for a register stage."""

    name: str             # stable name (see the module docstring)
    label: str            # for headers and the manifest's register_stages
    bits: int = 0         # flip-flops the stage adds (data, module-sum code alongside, valid bit)


def cut_points(plan: DesignPlan) -> list[Cut]:
    """Every place a register stage can go, in datapath order (costs not computed)."""
    cuts = [Cut("charges", "on the charge inputs"),
            Cut("input_path.sum", "inside the input path, after the module sum and its leading one"),
            Cut("input_path", "after the input path")]
    for lp in plan.layers:
        name = lp.layer.name
        cuts += [Cut(f"{lp.name}.products", f"on the products of layer {name!r}"),
                 Cut(f"{lp.name}.tree", f"half-way through the adder trees of layer {name!r}"),
                 Cut(f"{lp.name}.accumulator", f"on the accumulators of layer {name!r}")]
        if lp is not plan.layers[-1]:
            cuts.append(Cut(lp.name, f"after layer {name!r}"))
    return cuts


def pipeline_order(plan: DesignPlan) -> list[str]:
    """The stages ``--pipeline`` adds, in the order it adds them: after each MAC layer but the
    last (the first of them is the default mid-point), after the input path, on the charges."""
    return [lp.name for lp in plan.layers[:-1]] + ["input_path", "charges"]


def available_cuts(plan: DesignPlan, framing: bool = False) -> list[Cut]:
    """Every place a register stage can go, in datapath order, with its cost in flip-flops:
    the data it registers, the module-sum code carried beside it (from the input path on) and
    the valid pipeline's bit (and the e-link framing's bx_reset bit when ``framing``).

    Costs add up: a design's register bits are those of the design without inner stages plus the
    chosen stages' bits. MAC stages are measured by generating the layer's MAC modules."""
    ip = plan.input
    per_stage = 1 + int(framing)
    sum_code = ip.sum_code_bits
    fixed = {
        "charges": ip.n_cells * ip.charge_bits,
        "input_path.sum": len(ip.used_cells) * ip.charge_bits + ip.sum_bits + ip.shift_bits,
        "input_path": len(ip.used_cells) * ip.code_bits + sum_code,
    }
    for lp in plan.layers[:-1]:
        fixed[lp.name] = len(lp.neurons) * lp.code_bits + sum_code
    out = []
    for c in cut_points(plan):
        data = fixed[c.name] if c.name in fixed else _mac_stage_bits(plan, c.name) + sum_code
        out.append(replace(c, bits=data + per_stage))
    return out


def _mac_stage_bits(plan: DesignPlan, name: str) -> int:
    from .layer import mac_modules
    lname = name.rsplit(".", 1)[0]
    lp = next(lp for lp in plan.layers if lp.name == lname)
    mods = mac_modules(plan, Options(plan.weights, stages=frozenset([name])), lp)
    return sum(em.flops * count for em, count in mods.values())


def choose_cuts(plan: DesignPlan, pipeline: int = 0, cuts: list[str] | tuple[str, ...] | None = None) -> list[Cut]:
    """The register stages of a design: ``cuts`` (exact set, any order) or ``--pipeline``.

    Stages are listed in datapath order, except the sets ``--pipeline`` makes,
    which keep that option's order (so that its designs do not change)."""
    points = cut_points(plan)
    by_name = {c.name: c for c in points}
    order = pipeline_order(plan)
    if cuts is None:
        if pipeline < 0 or pipeline > len(order) - 1:
            raise UserError(f"--pipeline: {pipeline} is outside 0..{len(order) - 1} for this design "
                            f"(register stages can go {', '.join(by_name[n].label for n in order[1:])})")
        return [by_name[n] for n in order[:pipeline + 1]]
    if pipeline:
        raise UserError("--pipeline and --cuts are exclusive: --cuts names every register stage")
    if isinstance(cuts, str):
        raise TypeError("cuts: a list of cut names, not one string")
    unknown = [c for c in cuts if c not in by_name]
    if unknown:
        raise UserError(f"--cuts: unknown {', '.join(map(repr, unknown))}; this design's cut points are "
                        f"{', '.join(c.name for c in points)}")
    chosen = set(cuts)
    if chosen and chosen == set(order[:len(chosen)]):
        return [by_name[n] for n in order[:len(chosen)]]
    return [c for c in points if c.name in chosen]


def describe_cuts(plan: DesignPlan, framing: bool = False) -> str:
    """The cut points of a design, one a line with cost and meaning (``--cuts list``)."""
    cuts = available_cuts(plan, framing)
    width = max(len(c.name) for c in cuts)
    default = set(pipeline_order(plan)[:1])
    lines = [f"{c.name:<{width}}  {c.bits:>7} flip-flops  {c.label}"
             + ("  (--pipeline 0)" if c.name in default else "") for c in cuts]
    return "\n".join(lines) + "\n"
