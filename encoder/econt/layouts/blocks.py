"""Reading and writing the layouts of top-level register blocks (intermediate, production).

Both write one block per function of the chip: the algorithm choice
(``Algorithm: Global: select, density`` or ``ConfigAlgo: Global: alg_type,
alg_high_density``), per-cell ``AlgoThreshold``, ``Cal`` and ``Mux`` as
``index: value``, ``AlgoDroplsb``, the weight image as ``Encoder: <block>:
weights_byte<N>`` and ``FormatterBuffer: Global`` with the output e-links,
buffer thresholds, STC type, module-sum choice, link-reset pattern and latent
mask. A ``Spec`` says where the two layouts differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UserError
from .. import registers as R
from . import resets
from .base import header_lines

FB = "FormatterBuffer"


@dataclass(frozen=True)
class Algo:
    """An algorithm block: its name, its two keys and how that generation counts e-links."""

    block: str
    select: str
    density: str
    etx_mask: bool      # active_etxs is a bit mask (production names) or a count (prototype names)


# The prototype's names come with its e-link count register renamed active_etxs (the chip's test
# software converted eporttx_numen to it unchanged); the production chip's names come with the
# production rule: active_etxs is a bit mask of the 13 eTx (econ_sw's read_active_eTx reads a
# count for target ECONTP1 and a mask otherwise). The vectors agree: BC_5eTx (Algorithm,
# active_etxs 5) sends on 5 e-links, STC_type0_eTx3 (ConfigAlgo, active_etxs 0x7) on 3.
PROTOTYPE = Algo("Algorithm", "select", "density", etx_mask=False)
PRODUCTION = Algo("ConfigAlgo", "alg_type", "alg_high_density", etx_mask=True)


@dataclass(frozen=True)
class Spec:
    name: str
    algos: tuple[Algo, ...]     # accepted algorithm blocks; the first is the one written
    keep_bits: bool             # latent mask as keep_auto_encoder_bits (else mask_ae + mask_ae2)
    hex_masks: bool             # write masks and weights in hex (else decimal)


def registers(spec: Spec, algo: Algo) -> dict:
    g = f"{FB}.Global."
    regs = {
        "algorithm": f"{algo.block}.Global.{algo.select}", "density": f"{algo.block}.Global.{algo.density}",
        "mux": "Mux", "cal": "Cal", "thresholds": "AlgoThreshold", "drop_lsb": "AlgoDroplsb.Global",
        "n_elinks": g + "active_etxs", "active_etxs": g + "active_etxs",
        "weight_blocks": f"Encoder blocks 0..{R.N_BLOCKS - 1} (the weight image)",
        "buff_t1": g + "buff_t1", "buff_t2": g + "buff_t2", "buff_t3": g + "buff_t3", "stc_type": g + "stc_type",
        "use_sum": g + "use_sum", "link_reset_pattern": g + "link_reset_pattern",
    }
    mask = g + "keep_auto_encoder_bits" if spec.keep_bits else None
    regs["mask_ae"] = mask or g + "mask_ae"
    regs["mask_ae2"] = mask or g + "mask_ae2"
    return regs


def _formatter(doc) -> dict:
    fb = doc.get(FB)
    g = fb.get("Global") if isinstance(fb, dict) else None
    return g if isinstance(g, dict) else {}


def has_shape(doc) -> bool:
    """Top-level blocks with a FormatterBuffer or an algorithm block (either layout)."""
    return isinstance(doc, dict) and any(k in doc for k in (FB, PROTOTYPE.block, PRODUCTION.block))


def has_keep_bits(doc) -> bool:
    return "keep_auto_encoder_bits" in _formatter(doc)


def algo_of(doc, spec: Spec, path: str) -> Algo:
    found = [a for a in spec.algos if a.block in doc]
    if len(found) > 1:
        raise UserError(f"{path}: both {found[0].block} and {found[1].block} blocks; give one")
    return found[0] if found else spec.algos[0]


def _global(doc, block: str, where: str) -> dict:
    b = doc.get(block)
    if b is None:
        return {}
    g = b.get("Global") if isinstance(b, dict) else None
    if not isinstance(g, dict):
        raise UserError(f"{where}: block {block}: expected 'Global:' with its registers")
    return g


def _drop_lsb(doc, where: str):
    """AlgoDroplsb: Global: <v> (the emulator's files) or Global: drop_lsb: <v> (the chip's names)."""
    b = doc.get("AlgoDroplsb")
    if b is None:
        return None
    g = b.get("Global") if isinstance(b, dict) else None
    if isinstance(g, dict):
        if set(g) != {"drop_lsb"}:
            raise UserError(f"{where}: expected 'drop_lsb', got {sorted(map(str, g))}")
        return g["drop_lsb"]
    if g is None:
        raise UserError(f"{where}: expected 'Global:'")
    return g


def _weights(doc, path: str) -> list[list[int]] | None:
    enc = doc.get("Encoder")
    if enc is None:
        return None
    if not isinstance(enc, dict):
        raise UserError(f"{path}: register block Encoder: expected blocks 0..{R.N_BLOCKS - 1}")
    by_index = {}
    for k, v in enc.items():
        i = R.parse_int(k, f"{path}: register block Encoder.{k}")
        if not 0 <= i < R.N_BLOCKS:
            raise UserError(f"{path}: register block Encoder.{i}: the weight image has {R.N_BLOCKS} blocks "
                            f"0..{R.N_BLOCKS - 1}")
        by_index[i] = v
    blocks = []
    for i in range(R.N_BLOCKS):
        # One 12,864-bit image: a file that writes part of it is damaged (see resets.WEIGHT).
        if i not in by_index:
            raise UserError(f"{path}: missing register block Encoder.{i} (the weight image has {R.N_BLOCKS} blocks)")
        regs = by_index[i]
        if not isinstance(regs, dict):
            raise UserError(f"{path}: register block Encoder.{i}: expected weights_byte0..weights_byte128")
        row = []
        for reg, bits in R.BLOCK_REGISTERS:
            if reg not in regs:
                raise UserError(f"{path}: missing register Encoder.{i}.{reg}")
            row.append(R.fits(regs[reg], bits, f"{path}: register Encoder.{i}.{reg}"))
        blocks.append(row)
    return blocks


def read(doc, path: str, spec: Spec) -> R.ChipConfig:
    algo = algo_of(doc, spec, path)
    regs = registers(spec, algo)
    w = f"{path}: register "
    cfg = R.ChipConfig(path=path)
    ag = _global(doc, algo.block, path)
    fb = _global(doc, FB, path)

    def one(v, name, lo, hi, reset):
        return reset if v is None else R.ranged(v, lo, hi, w + regs[name])

    def bits(v, name, n, reset):
        return reset if v is None else R.fits(v, n, w + regs[name])

    def cells(block, name, hi, reset, leaf):
        v = doc.get(block)
        return list(reset) if v is None else R.indexed_list(v, R.N_CELLS, 0, hi, w + regs[name], leaf)

    cfg.algorithm = one(ag.get(algo.select), "algorithm", 0, max(R.ALGORITHMS), resets.ALGORITHM)
    cfg.density = one(ag.get(algo.density), "density", 0, 1, resets.DENSITY)
    cfg.mux = cells("Mux", "mux", R.N_CELLS - 1, resets.MUX, "select")
    cfg.cal = cells("Cal", "cal", (1 << R.CAL_BITS) - 1, resets.CAL, "cal")
    cfg.thresholds = cells("AlgoThreshold", "thresholds", (1 << R.THRESHOLD_BITS) - 1, resets.THRESHOLDS, "val")
    cfg.drop_lsb = bits(_drop_lsb(doc, w + regs["drop_lsb"]), "drop_lsb", R.DROP_LSB_BITS, resets.DROP_LSB)
    etx = fb.get("active_etxs")
    if algo.etx_mask:
        cfg.active_etxs = bits(etx, "active_etxs", R.MAX_ELINKS, R.mask_of_count(resets.N_ELINKS))
        if cfg.active_etxs == 0:
            raise UserError(f"{w}{regs['active_etxs']}: value 0 enables no e-link")
        cfg.n_elinks = R.popcount(cfg.active_etxs)
    else:
        cfg.n_elinks = one(etx, "n_elinks", 1, R.MAX_ELINKS, resets.N_ELINKS)
        cfg.active_etxs = R.mask_of_count(cfg.n_elinks)
    if spec.keep_bits:
        two = [k for k in ("mask_ae", "mask_ae2") if k in fb]
        if two:
            raise UserError(f"{w}{regs['mask_ae']}: the file also writes {FB}.Global.{two[0]}; "
                            "give the latent mask once")
        keep = bits(fb.get("keep_auto_encoder_bits"), "mask_ae", R.LATENT_MASK_BITS,
                    (resets.MASK_AE << R.MASK_AE2_BITS) | resets.MASK_AE2)
        cfg.mask_ae, cfg.mask_ae2 = keep >> R.MASK_AE2_BITS, keep & ((1 << R.MASK_AE2_BITS) - 1)
    else:
        cfg.mask_ae = bits(fb.get("mask_ae"), "mask_ae", R.MASK_AE_BITS, resets.MASK_AE)
        cfg.mask_ae2 = bits(fb.get("mask_ae2"), "mask_ae2", R.MASK_AE2_BITS, resets.MASK_AE2)
    cfg.weight_blocks = _weights(doc, path)
    cfg.buff_t1 = bits(fb.get("buff_t1"), "buff_t1", R.BUFF_T12_BITS, resets.BUFF_T1)
    cfg.buff_t2 = bits(fb.get("buff_t2"), "buff_t2", R.BUFF_T12_BITS, resets.BUFF_T2)
    cfg.buff_t3 = bits(fb.get("buff_t3"), "buff_t3", R.BUFF_T3_BITS, resets.BUFF_T3)
    cfg.stc_type = one(fb.get("stc_type"), "stc_type", 0, (1 << R.STC_TYPE_BITS) - 1, resets.STC_TYPE)
    cfg.use_sum = one(fb.get("use_sum"), "use_sum", 0, 1, resets.USE_SUM)
    # The emulator's converter kept the prototype's name tx_sync_word for the link-reset pattern.
    pattern, sync = fb.get("link_reset_pattern"), fb.get("tx_sync_word")
    if pattern is not None and sync is not None and \
            R.parse_int(pattern, w + regs["link_reset_pattern"]) != R.parse_int(sync, w + f"{FB}.Global.tx_sync_word"):
        raise UserError(f"{w}{regs['link_reset_pattern']}: {pattern} differs from tx_sync_word {sync} "
                        "(two names of one register)")
    cfg.link_reset_pattern = bits(pattern if pattern is not None else sync, "link_reset_pattern", R.SYNC_BITS,
                                  resets.TX_SYNC_WORD)
    return cfg


# -- writing -------------------------------------------------------------

def write(cfg: R.ChipConfig, header: str, spec: Spec) -> str:
    from .rw import elink_count

    algo = spec.algos[0]
    regs = registers(spec, algo)
    cfg.need("algorithm", "density", "mux", "cal")
    num = (lambda v: f"0x{v:x}") if spec.hex_masks else str
    lines = header_lines(header)
    lines += [f"{algo.block}:", "  Global:", f"    {algo.select}: {cfg.algorithm}",
              f"    {algo.density}: {cfg.density}"]
    for block, values in (("Mux", cfg.mux), ("Cal", cfg.cal), ("AlgoThreshold", cfg.thresholds)):
        if values is not None:
            lines += [f"{block}:"] + [f"  {i}: {v}" for i, v in enumerate(values)]
    if cfg.drop_lsb is not None:
        lines += ["AlgoDroplsb:", "  Global:", f"    drop_lsb: {cfg.drop_lsb}"]
    if algo.etx_mask:
        etx = cfg.active_etxs if cfg.active_etxs is not None else R.mask_of_count(cfg.need("n_elinks").n_elinks)
        etx_text = f"{etx}    # bit mask of the active eTx"
    else:
        etx_text = f"{elink_count(cfg, regs['n_elinks'])}    # number of active eTx, eTx 0..N-1"
    lines += [f"{FB}:", "  Global:", f"    active_etxs: {etx_text}"]
    for name in ("buff_t1", "buff_t2", "buff_t3", "stc_type", "use_sum", "link_reset_pattern"):
        v = getattr(cfg, name)
        if v is not None:
            lines.append(f"    {name}: {v}")
    if cfg.mask_ae is not None and cfg.mask_ae2 is not None:
        if spec.keep_bits:
            lines.append(f"    keep_auto_encoder_bits: {num(cfg.latent_mask)}")
        else:
            lines += [f"    mask_ae: {num(cfg.mask_ae)}", f"    mask_ae2: {num(cfg.mask_ae2)}"]
    if cfg.weight_blocks is not None:
        lines.append("Encoder:")
        for i, row in enumerate(cfg.weight_blocks):
            lines.append(f"  {i}:")
            lines += [f"    {reg}: {num(v)}" for (reg, _), v in zip(R.BLOCK_REGISTERS, row)]
    return "\n".join(lines) + "\n"
