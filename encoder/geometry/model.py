"""The sensor-module geometry as an object the rest of the kit receives.

A geometry knows where its cells are, how they are laid into the encoder's
input tensor (arrangements), which groups of cells the losses and baselines
use, and the EMD ground distance. Adding a sensor means adding a builder
here; the encoder, RTL and metrics code only see the ``Geometry`` object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np


@dataclass(frozen=True)
class Arrangement:
    """How the cells of a module fill the encoder input tensor.

    ``pixel_to_cell[p]`` is the cell feeding flat (row-major over
    ``shape``) input position ``p``, or -1 for a position forced to zero.
    ``cell_to_pixel[c]`` is the position whose decoded value is read back as
    cell ``c``.
    """

    name: str
    shape: tuple[int, int, int]
    pixel_to_cell: np.ndarray
    cell_to_pixel: np.ndarray

    @property
    def n_pixels(self) -> int:
        return int(np.prod(self.shape))

    def to_image(self, cells: np.ndarray) -> np.ndarray:
        """(N, n_cells) -> (N, H, W, C), masked positions zero."""
        cells = np.asarray(cells)
        padded = np.concatenate([cells, np.zeros(cells.shape[:-1] + (1,), cells.dtype)], axis=-1)
        flat = padded[..., np.where(self.pixel_to_cell >= 0, self.pixel_to_cell, cells.shape[-1])]
        return flat.reshape(cells.shape[:-1] + self.shape)

    def to_cells(self, image: np.ndarray) -> np.ndarray:
        """(N, H, W, C) -> (N, n_cells), reading each cell at its pixel."""
        image = np.asarray(image)
        flat = image.reshape(image.shape[: image.ndim - 3] + (-1,))
        return flat[..., self.cell_to_pixel]


@dataclass(frozen=True)
class Geometry:
    """One sensor module: cells, positions, arrangements and groups."""

    name: str
    description: str
    xy_cm: np.ndarray                      # (n, 2) cell centres
    pitch_cm: float                        # distance between neighbouring cell centres
    distance_unit_cm: float                # EMD ground-distance unit
    sector: np.ndarray                     # (n,) sector index of each cell
    outline_cm: np.ndarray                 # (n, k, 2) polygon corners of each cell
    arrangements: dict[str, Arrangement]
    telescope_groups: tuple[tuple[tuple[int, ...], float], ...]   # (cells, weight)
    stc4_groups: tuple[tuple[int, ...], ...]
    stc16_groups: tuple[tuple[int, ...], ...]
    best_choice_by_elinks: dict[int, int]  # e-links -> number of cells kept
    uv: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        return int(self.xy_cm.shape[0])

    @property
    def n_sectors(self) -> int:
        return int(self.sector.max()) + 1

    def arrangement(self, name: str) -> Arrangement:
        try:
            return self.arrangements[name]
        except KeyError:
            raise KeyError(
                f"geometry {self.name!r} has no arrangement {name!r}; "
                f"choose one of {sorted(self.arrangements)}"
            ) from None

    @cached_property
    def distance_matrix(self) -> np.ndarray:
        """Euclidean cell-centre distances in units of ``distance_unit_cm``."""
        diff = self.xy_cm[:, None, :] - self.xy_cm[None, :, :]
        d = np.sqrt((diff**2).sum(-1)) / self.distance_unit_cm
        d = 0.5 * (d + d.T)
        np.fill_diagonal(d, 0.0)
        d.setflags(write=False)
        return d

    def group_matrix(self, groups) -> np.ndarray:
        """(n_groups, n_cells) 0/1 matrix summing the cells of each group."""
        m = np.zeros((len(groups), self.n_cells))
        for g, cells in enumerate(groups):
            m[g, list(cells)] = 1.0
        return m


def _rhombus_outlines(xy: np.ndarray, sector: np.ndarray, side: int) -> np.ndarray:
    """Rhombic cell outlines from a sector's lattice (cells row-major, side x side).

    Within a sector cell j sits at origin + (j % side) * a + (j // side) * b;
    a and b are fitted from the positions, so each cell's outline is
    centre +- a/2 +- b/2.
    """
    out = np.zeros((len(xy), 4, 2))
    for s in np.unique(sector):
        cells = np.flatnonzero(sector == s)
        j = np.arange(len(cells))
        design = np.stack([np.ones_like(j), j % side, j // side], axis=1).astype(float)
        coef, *_ = np.linalg.lstsq(design, xy[cells], rcond=None)
        a, b = coef[1], coef[2]
        for k, (sa, sb) in enumerate([(-1, -1), (1, -1), (1, 1), (-1, 1)]):
            out[cells, k] = xy[cells] + 0.5 * (sa * a + sb * b)
    return out


def _hgcal_hd() -> Geometry:
    raw = json.loads(resources.files(__package__).joinpath("hgcal_module.json").read_text())
    n = raw["n_trigger_cells"]
    xy = np.asarray(raw["tc_xy_cm"], dtype=float)
    sector = np.asarray(raw["tc_sector"], dtype=int)
    mask = np.asarray(raw["mask_8x8"], dtype=int)
    p2c_8x8 = np.where(mask > 0, np.asarray(raw["arrange_8x8"], dtype=int), -1)
    c2p_8x8 = np.asarray(raw["tc_to_pixel_8x8"], dtype=int)
    p2c_443 = np.asarray(raw["arrange_4x4x3"], dtype=int)
    c2p_443 = np.empty(n, dtype=int)
    c2p_443[p2c_443] = np.arange(len(p2c_443))
    arrangements = {
        "8x8": Arrangement("8x8", (8, 8, 1), p2c_8x8, c2p_8x8),
        "4x4x3": Arrangement("4x4x3", (4, 4, 3), p2c_443, c2p_443),
    }
    return Geometry(
        name="hgcal",
        description=raw["description"],
        xy_cm=xy,
        pitch_cm=float(raw["tc_pitch_cm"]),
        distance_unit_cm=float(raw["emd_distance_unit_cm"]),
        sector=sector,
        outline_cm=_rhombus_outlines(xy, sector, 4),
        arrangements=arrangements,
        telescope_groups=tuple((tuple(g["tcs"]), float(g["weight"])) for g in raw["telescope_2x2_groups"]),
        stc4_groups=tuple(tuple(g) for g in raw["stc4_groups"]),
        stc16_groups=tuple(tuple(g) for g in raw["stc16_groups"]),
        best_choice_by_elinks={int(k): int(v) for k, v in raw["best_choice_ntc_by_elinks"].items()},
        uv=np.asarray(raw["tc_uv"], dtype=int),
    )


def _square_8x8(pitch_cm: float = 1.0) -> Geometry:
    """A plain 8x8 square-pixel sensor: the second geometry the kit ships."""
    side = 8
    n = side * side
    r, c = np.divmod(np.arange(n), side)
    xy = np.stack([c * pitch_cm, -r * pitch_cm], axis=1).astype(float)
    sector = (r // 4) * 2 + (c // 4)       # four 4x4 quadrants
    half = 0.5 * pitch_cm
    outline = xy[:, None, :] + np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    identity = np.arange(n)
    blocks = [tuple(int(i) for i in np.flatnonzero((r // 2 == br) & (c // 2 == bc)))
              for br in range(side // 2) for bc in range(side // 2)]
    quadrants = tuple(tuple(int(i) for i in np.flatnonzero(sector == s)) for s in range(4))
    # Cells kept by best choice: the HGCAL table scaled to 64 cells.
    bc = {e: min(n, int(round(k * n / 48))) for e, k in _hgcal_hd().best_choice_by_elinks.items()}
    return Geometry(
        name="square8",
        description="Plain 8x8 square-pixel sensor, 1 cm pitch, four 4x4 quadrants.",
        xy_cm=xy,
        pitch_cm=pitch_cm,
        distance_unit_cm=0.5 * pitch_cm,
        sector=sector,
        outline_cm=outline,
        arrangements={"8x8": Arrangement("8x8", (8, 8, 1), identity, identity.copy())},
        telescope_groups=tuple((blk, 1.0) for blk in blocks),
        stc4_groups=tuple(blocks),
        stc16_groups=quadrants,
        best_choice_by_elinks=bc,
    )


_BUILDERS = {"hgcal": _hgcal_hd, "square8": _square_8x8}


def available() -> list[str]:
    return sorted(_BUILDERS)


@lru_cache(maxsize=None)
def load(name: str = "hgcal") -> Geometry:
    """The named geometry (built once per process)."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise KeyError(f"unknown geometry {name!r}; choose one of {available()}") from None
    return builder()
