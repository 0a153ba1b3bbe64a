"""Which cell of a module a point falls in, for any geometry.

The generator drops tens of millions of energy spots per second onto a
module, so testing each spot against every cell polygon is too slow.
Instead the module's bounding box is rasterised once into a fine grid whose
pixels hold the index of the cell containing the pixel centre (-1 outside
the module); a spot's cell is then one table read. The grid step is a small
fraction of the cell pitch, so only spots within half a step of a cell
border can land in the neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import Geometry

# Grid steps per cell pitch: 1/40 of a pitch is 0.06 cm for HGCAL, far
# below the 1 cm shower radius, so border effects are negligible.
STEPS_PER_PITCH = 40


def points_in_polygons(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """(P, 2) points, (C, K, 2) convex polygons -> (P, C) bool: point inside polygon.

    A point is inside a convex polygon when it lies on the same side of all
    its edges (corners in either winding order). Points exactly on an edge
    count as inside.
    """
    pts = np.asarray(points, dtype=np.float64)
    polys = np.asarray(polygons, dtype=np.float64)
    a = polys                                   # (C, K, 2) edge starts
    b = np.roll(polys, -1, axis=1)              # (C, K, 2) edge ends
    ex = (b[..., 0] - a[..., 0])[None]          # (1, C, K)
    ey = (b[..., 1] - a[..., 1])[None]
    px = pts[:, 0][:, None, None] - a[..., 0][None]
    py = pts[:, 1][:, None, None] - a[..., 1][None]
    cross = ex * py - ey * px                   # (P, C, K)
    scale = np.hypot(ex, ey)
    tol = 1e-9 * scale
    return np.all(cross >= -tol, axis=-1) | np.all(cross <= tol, axis=-1)


def polygon_area(polygons: np.ndarray) -> np.ndarray:
    """(C, K, 2) -> (C,) areas (shoelace formula)."""
    x, y = polygons[..., 0], polygons[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1))


@dataclass(frozen=True)
class CellLookup:
    """Raster of a module: ``table[iy, ix]`` is the cell at that pixel or -1."""

    x0: float
    y0: float
    step: float
    table: np.ndarray       # (ny, nx) int16

    @classmethod
    def for_geometry(cls, geometry: Geometry, steps_per_pitch: int = STEPS_PER_PITCH) -> "CellLookup":
        outline = np.asarray(geometry.outline_cm, dtype=np.float64)
        lo = outline.reshape(-1, 2).min(axis=0)
        hi = outline.reshape(-1, 2).max(axis=0)
        step = geometry.pitch_cm / steps_per_pitch
        nx = int(np.ceil((hi[0] - lo[0]) / step))
        ny = int(np.ceil((hi[1] - lo[1]) / step))
        xs = lo[0] + (np.arange(nx) + 0.5) * step
        ys = lo[1] + (np.arange(ny) + 0.5) * step
        table = np.full((ny, nx), -1, dtype=np.int16)
        # Each cell only tests the pixels of its own bounding box.
        for c, poly in enumerate(outline):
            c_lo = np.floor((poly.min(axis=0) - lo) / step).astype(int)
            c_hi = np.ceil((poly.max(axis=0) - lo) / step).astype(int)
            gy, gx = np.meshgrid(ys[c_lo[1]:c_hi[1]], xs[c_lo[0]:c_hi[0]], indexing="ij")
            inside = points_in_polygons(np.stack([gx.ravel(), gy.ravel()], axis=1), poly[None])[:, 0]
            block = table[c_lo[1]:c_hi[1], c_lo[0]:c_hi[0]]
            block[inside.reshape(gy.shape) & (block < 0)] = c
        return cls(float(lo[0]), float(lo[1]), float(step), table)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) of the rasterised box."""
        ny, nx = self.table.shape
        return self.x0, self.y0, self.x0 + nx * self.step, self.y0 + ny * self.step

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell index of each point, -1 for points outside the module."""
        ny, nx = self.table.shape
        ix = np.floor((np.asarray(x) - self.x0) / self.step)
        iy = np.floor((np.asarray(y) - self.y0) / self.step)
        ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        flat = np.where(ok, iy * nx + ix, 0).astype(np.int64)
        return np.where(ok, self.table.ravel()[flat], -1)
