"""Working copies of a screenshot at fixed resolutions in px per dp."""

from __future__ import annotations

import cv2
import numpy as np

from vision.types import density_or_assumed


def at_most(image_bgr: np.ndarray, density: float, px_per_dp: float) -> tuple[np.ndarray, float]:
    """The image shrunk to at most ``px_per_dp`` pixels per dp, and the factor applied (<= 1).

    Searching for shapes whose size is known in dp costs the same on every screen this way, instead of
    growing with the square of the device's density.
    """
    scale = min(1.0, px_per_dp / density)
    if scale >= 1.0:
        return image_bgr, 1.0
    # Area averaging keeps thin strokes whole (linear interpolation aliases them into false ✕ shapes).
    return cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


class Copies:
    """One screenshot's downscaled copies, each made once (area averaging at fractional factors is
    slow, and the ✕ and small-word searches want the same one)."""

    def __init__(self, image_bgr: np.ndarray, density: float | None):
        self.image = image_bgr
        self.density = density_or_assumed(density, image_bgr.shape[1])
        self._made: dict[float, tuple[np.ndarray, float]] = {}

    def at_most(self, px_per_dp: float) -> tuple[np.ndarray, float]:
        if px_per_dp not in self._made:
            self._made[px_per_dp] = at_most(self.image, self.density, px_per_dp)
        return self._made[px_per_dp]
