"""Synthetic sensor-module data: electromagnetic showers at shower max, pileup, noise.

Each generated module is hit by a jet-like group of signal particles (a
geometric number, mean ``signal_showers_mean``, spread around an impact
point) whose electromagnetic showers are sampled at the shower-maximum
layer, plus a Poisson number of pileup particles, plus per-cell
electronics noise. The shower model is the Grindhammer parametrisation
adapted to HGCAL:

* the energy a shower leaves in the layer is its incident energy times the
  layer's mean longitudinal fraction; it is deposited in energy spots of
  ``spot_energy_gev`` each, their number Poisson distributed (this carries
  the sampling fluctuations);
* each spot sits at an exponentially distributed radial distance (scale
  ``r0_cm``) from the impact point, at a uniform azimuth;
* a spot's energy becomes a signal in the cell it falls in via the layer's
  dE/dx weight (``MIP_PER_GEV``), divided by cosh(eta) for transverse MIPs.

Impact points are uniform over the module's bounding box grown by a margin,
so showers centred near or beyond an edge lose part of their spots. Each
signal shower's transverse energy follows a falling power law. Pileup
particles are low-energy photons (small showers, exponential
transverse-energy spectrum) and charged hadrons (one Landau-distributed MIP deposit); their number per
module scales with the pileup mu and with the particle density per unit
area at the module's eta. Noise is Gaussian per cell; cells below a
zero-suppression threshold read zero. Modules whose cells are all zero are
dropped, as in the CMS training data.

Everything is vectorised over modules and spots; modules are generated in
fixed-size chunks, each from its own seeded stream, so a data set is a
pure function of (seed, model, geometry) and a shorter run is a prefix of a
longer one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..geometry import Geometry
from .cell_lookup import CellLookup
from .store import SensorData

# GeV -> MIP conversion: one MIP signal in a CE-E silicon layer stands for
# about 10 MeV of shower energy deposited in that layer (absorber plus
# silicon; the dE/dx weight HGCAL uses to turn MIPs back into energy). So
# 1 GeV of shower energy in the layer gives 100 MIPs, and one spot of
# 0.0625 GeV gives 6.25 MIPs (before the 1/cosh(eta) of transverse MIPs).
MIP_PER_GEV = 100.0

# Mean longitudinal energy fractions of an electromagnetic shower in the 28
# CE-E layers (unnormalised), from the HGCAL shower parametrisation.
LONGITUDINAL_PROFILE = (
    40.0, 69.8, 119.6, 178.9, 248.8, 315.1, 382.0, 431.6, 477.7, 498.7,
    533.6, 514.8, 490.0, 435.1, 386.7, 325.4, 277.9, 224.4, 186.5, 145.3,
    108.7, 73.7, 52.1, 33.0, 22.5, 13.1, 8.6, 4.8,
)

# Modules per generator chunk: fixed so that results do not depend on how
# many modules are asked for (a shorter run is a prefix of a longer one).
CHUNK_MODULES = 16384

# Pileup particle density per unit area grows like sinh^2(eta) tanh(eta)
# (flat dN/deta spread over rings of radius z / sinh(eta)); the pileup rate
# parameter is quoted at this eta.
PILEUP_REFERENCE_ETA = 2.2


def layer_fraction(layer: int) -> float:
    """Mean fraction of an EM shower's energy in CE-E layer ``layer`` (1-based)."""
    if not 1 <= layer <= len(LONGITUDINAL_PROFILE):
        raise ValueError(f"layer must be in 1..{len(LONGITUDINAL_PROFILE)}, got {layer}")
    return LONGITUDINAL_PROFILE[layer - 1] / sum(LONGITUDINAL_PROFILE)


def pileup_density(eta: np.ndarray) -> np.ndarray:
    """Pileup particles per unit area at ``eta`` relative to PILEUP_REFERENCE_ETA."""
    def d(e):
        return np.sinh(e) ** 2 * np.tanh(e)
    return d(np.asarray(eta, dtype=np.float64)) / d(PILEUP_REFERENCE_ETA)


@dataclass(frozen=True)
class ShowerModel:
    """Parameters of the generator; the defaults give ttbar-at-200-pileup-like occupancy."""

    layer: int = 9                     # shower-maximum layer of the modules (1-based)
    spot_energy_gev: float = 0.0625    # energy per shower spot
    r0_cm: float = 1.0                 # exponential scale of the spots' radial distance
    eta_min: float = 1.6               # module eta range (uniform: flat dN/deta times
    eta_max: float = 2.9               # area per module cancel)
    signal_et_min_gev: float = 0.25    # per-shower transverse energy: power law E_T^-index
    signal_et_max_gev: float = 30.0
    signal_et_index: float = 2.3
    signal_showers_mean: float = 6.0   # mean showers per module (geometric, >= 1)
    jet_spread_cm: float = 5.0         # Gaussian spread of further showers around the impact point
    impact_margin_cm: float = 2.0      # impact points range this far beyond the module
    pileup_mu: float = 200.0           # interactions per crossing
    pileup_per_mu: float = 0.08        # pileup particles per module and interaction at the reference eta
    pileup_charged_fraction: float = 0.9   # charged hadrons (MIP deposits); the rest photons
    pileup_et_mean_gev: float = 0.25   # exponential E_T spectrum of pileup particles
    mip_landau_width: float = 0.08     # Landau (Moyal) width of a MIP deposit, in MIPs
    noise_mip: float = 0.25            # Gaussian noise per cell, MIPs (not transverse)
    zero_suppression_mip: float = 0.5  # cells below this (MIPs, not transverse) read zero

    def __post_init__(self):
        layer_fraction(self.layer)
        positive = ("spot_energy_gev", "r0_cm", "signal_et_min_gev", "signal_et_max_gev",
                    "pileup_et_mean_gev")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("pileup_mu", "pileup_per_mu", "impact_margin_cm", "jet_spread_cm", "noise_mip",
                     "zero_suppression_mip", "mip_landau_width"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        if not self.signal_showers_mean >= 1:
            raise ValueError(f"signal_showers_mean must be at least 1, got {self.signal_showers_mean}")
        if not 0 <= self.pileup_charged_fraction <= 1:
            raise ValueError("pileup_charged_fraction must be in [0, 1]")
        if not 0 < self.eta_min <= self.eta_max:
            raise ValueError("need 0 < eta_min <= eta_max")
        if not self.signal_et_min_gev < self.signal_et_max_gev or self.signal_et_index <= 1:
            raise ValueError("need signal_et_min_gev < signal_et_max_gev and signal_et_index > 1")

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


TRUTH_KEYS = (
    "signal_energy_gev",   # summed incident energy of the signal showers
    "signal_et_gev",       # their summed transverse energy
    "signal_showers",      # how many signal showers
    "eta",                 # module (and particle) pseudorapidity
    "impact_x_cm",         # signal impact point in the module frame
    "impact_y_cm",
    "signal_mip",          # transverse MIPs the signal showers left in the module's cells
    "pileup_energy_gev",   # summed incident energy of the pileup particles
    "pileup_count",        # number of pileup particles (impact within the margin box)
    "pileup_mip",          # transverse MIPs they left in the module's cells
)


def _power_law(rng, n: int, lo: float, hi: float, index: float) -> np.ndarray:
    """Samples of p(x) ~ x^-index on [lo, hi] (inverse CDF)."""
    u = rng.random(n)
    a = 1.0 - index
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def _spot_cells(rng, lookup: CellLookup, owner: np.ndarray, centre_x: np.ndarray,
                centre_y: np.ndarray, n_spots: np.ndarray, r0: float):
    """Scatter each shower's spots around its centre: (module, cell) of each spot inside the module."""
    shower = np.repeat(np.arange(len(n_spots)), n_spots)
    r = rng.standard_exponential(shower.size, dtype=np.float32) * np.float32(r0)
    phi = rng.random(shower.size, dtype=np.float32) * np.float32(2 * np.pi)
    x = centre_x.astype(np.float32)[shower] + r * np.cos(phi)
    y = centre_y.astype(np.float32)[shower] + r * np.sin(phi)
    cell = lookup.cell_of(x, y)
    inside = cell >= 0
    return owner[shower[inside]], cell[inside]


def _spot_sums(module, cell, n_modules: int, n_cells: int) -> np.ndarray:
    """Spot counts per (module, cell)."""
    flat = module.astype(np.int64) * n_cells + cell
    return np.bincount(flat, minlength=n_modules * n_cells).reshape(n_modules, n_cells).astype(np.float64)


class _Module:
    """Per-module quantities of one chunk that every stage needs."""

    def __init__(self, rng, model: ShowerModel, geometry: Geometry, lookup: CellLookup, m: int):
        self.rng, self.model, self.lookup, self.m = rng, model, lookup, m
        self.n_cells = geometry.n_cells
        corners = geometry.outline_cm.reshape(-1, 2)
        margin = model.impact_margin_cm
        self.lo = corners.min(axis=0) - margin            # impact points range over this box
        self.hi = corners.max(axis=0) + margin
        self.frac = layer_fraction(model.layer)
        self.eta = rng.uniform(model.eta_min, model.eta_max, m)
        self.cosh = np.cosh(self.eta)
        self.mip_per_spot = model.spot_energy_gev * MIP_PER_GEV / self.cosh   # transverse MIPs

    def points(self, n: int):
        return self.rng.uniform(self.lo[0], self.hi[0], n), self.rng.uniform(self.lo[1], self.hi[1], n)

    def showers(self, owner, x, y, energy) -> np.ndarray:
        """(m, n_cells) transverse MIPs of EM showers of ``energy`` GeV centred at (x, y)."""
        n_spots = self.rng.poisson(self.frac * energy / self.model.spot_energy_gev)
        mod, cell = _spot_cells(self.rng, self.lookup, owner, x, y, n_spots, self.model.r0_cm)
        return _spot_sums(mod, cell, self.m, self.n_cells) * self.mip_per_spot[:, None]


def _signal(s: _Module):
    """A jet-like group of showers around the impact point (the first shower
    exactly on it): a geometric number per module, each with its own
    transverse energy from the falling spectrum."""
    model, rng = s.model, s.rng
    ix, iy = s.points(s.m)
    n_show = rng.geometric(1.0 / model.signal_showers_mean, s.m)
    owner = np.repeat(np.arange(s.m), n_show)
    first = np.zeros(owner.size, dtype=bool)
    first[np.cumsum(n_show) - n_show] = True
    offset = rng.normal(0.0, model.jet_spread_cm, (owner.size, 2)) * ~first[:, None]
    et_each = _power_law(rng, owner.size, model.signal_et_min_gev, model.signal_et_max_gev,
                         model.signal_et_index)
    deposit = s.showers(owner, ix[owner] + offset[:, 0], iy[owner] + offset[:, 1], et_each * s.cosh[owner])
    et = np.bincount(owner, weights=et_each, minlength=s.m)
    truth = {"signal_energy_gev": et * s.cosh, "signal_et_gev": et, "signal_showers": n_show.astype(np.int64),
             "eta": s.eta, "impact_x_cm": ix, "impact_y_cm": iy, "signal_mip": deposit.sum(axis=1)}
    return deposit, truth


def _pileup(s: _Module):
    """Pileup photons (small showers) and charged hadrons (MIP deposits)."""
    model, rng = s.model, s.rng
    n_pu = rng.poisson(model.pileup_mu * model.pileup_per_mu * pileup_density(s.eta))
    owner = np.repeat(np.arange(s.m), n_pu)
    k = owner.size
    charged = rng.random(k) < model.pileup_charged_fraction
    px, py = s.points(k)
    energy = rng.exponential(model.pileup_et_mean_gev, k) * s.cosh[owner]
    ph = ~charged
    deposit = s.showers(owner[ph], px[ph], py[ph], energy[ph])

    # A charged hadron's deposit does not depend on its energy: it crosses
    # the layer almost head-on (path factor 1/tanh(eta) ~ 1) and leaves a
    # Landau-distributed ~1 MIP (most probable value 1), transverse: / cosh(eta).
    ch = owner[charged]
    cell = s.lookup.cell_of(px[charged], py[charged])
    z = rng.standard_normal(ch.size)
    moyal = -np.log(np.maximum(z * z, 1e-300))                      # standard Moyal variate
    mip = np.maximum(1.0 + model.mip_landau_width * moyal, 0.0) / np.tanh(s.eta[ch]) / s.cosh[ch]
    ok = cell >= 0
    deposit += np.bincount(ch[ok] * s.n_cells + cell[ok], weights=mip[ok],
                           minlength=s.m * s.n_cells).reshape(s.m, s.n_cells)
    truth = {"pileup_energy_gev": np.bincount(owner, weights=energy, minlength=s.m),
             "pileup_count": n_pu.astype(np.int64), "pileup_mip": deposit.sum(axis=1)}
    return deposit, truth


def _readout(s: _Module, deposit: np.ndarray) -> np.ndarray:
    """Electronics noise and zero suppression act on the signal before the
    1/cosh(eta) of transverse MIPs."""
    raw = deposit * s.cosh[:, None]
    raw += s.model.noise_mip * s.rng.standard_normal((s.m, s.n_cells))
    raw[raw < s.model.zero_suppression_mip] = 0.0
    return raw / s.cosh[:, None]


def _chunk(rng, model: ShowerModel, geometry: Geometry, lookup: CellLookup, m: int):
    """Generate ``m`` modules (some may be all zero). Returns (charges, truth)."""
    s = _Module(rng, model, geometry, lookup, m)
    signal, truth = _signal(s)
    pileup, pu_truth = _pileup(s)
    truth.update(pu_truth)
    return _readout(s, signal + pileup), truth


_LOOKUPS: dict[str, tuple[Geometry, CellLookup]] = {}


def _lookup_for(geometry: Geometry) -> CellLookup:
    """The geometry's cell raster, built once per geometry object."""
    hit = _LOOKUPS.get(geometry.name)
    if hit is None or hit[0] is not geometry:
        hit = (geometry, CellLookup.for_geometry(geometry))
        _LOOKUPS[geometry.name] = hit
    return hit[1]


def synthesize(n_modules: int, seed: int, geometry: Geometry, model: ShowerModel | None = None,
               progress=None) -> SensorData:
    """``n_modules`` non-empty synthetic modules on ``geometry``; deterministic in ``seed``.

    ``progress(k)`` is called with the number of modules kept after each chunk.
    """
    if n_modules < 0:
        raise ValueError(f"number of modules must be non-negative, got {n_modules}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    model = model or ShowerModel()
    lookup = _lookup_for(geometry)
    parts, truths, kept = [], [], 0
    chunk_index = 0
    while kept < n_modules:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk_index,)))
        charges, truth = _chunk(rng, model, geometry, lookup, CHUNK_MODULES)
        nonzero = charges.any(axis=1)
        if chunk_index >= 8 and kept == 0:
            raise ValueError("the shower model produces only empty modules; check its parameters")
        take = np.flatnonzero(nonzero)[: n_modules - kept]
        parts.append(charges[take])
        truths.append({k: v[take] for k, v in truth.items()})
        kept += take.size
        chunk_index += 1
        if progress is not None:
            progress(int(take.size))
    if parts:
        charges = np.concatenate(parts)
        truth = {k: np.concatenate([t[k] for t in truths]) for k in TRUTH_KEYS}
    else:
        charges = np.zeros((0, geometry.n_cells))
        truth = {k: np.zeros(0) for k in TRUTH_KEYS}
    return SensorData(charges, geometry.name, truth, {})


def describe(model: ShowerModel) -> str:
    """One line naming the key settings (for command output)."""
    return (f"layer {model.layer} (fraction {layer_fraction(model.layer):.3f}), "
            f"spots {model.spot_energy_gev} GeV, r0 {model.r0_cm} cm, "
            f"signal E_T^-{model.signal_et_index} in [{model.signal_et_min_gev}, {model.signal_et_max_gev}] GeV, "
            f"eta {model.eta_min}-{model.eta_max}, pileup mu {model.pileup_mu:g}, "
            f"noise {model.noise_mip} MIP, zero suppression {model.zero_suppression_mip} MIP, "
            f"{MIP_PER_GEV:g} MIP/GeV")


__all__ = ["MIP_PER_GEV", "LONGITUDINAL_PROFILE", "ShowerModel", "TRUTH_KEYS", "synthesize",
           "layer_fraction", "pileup_density", "describe"]
