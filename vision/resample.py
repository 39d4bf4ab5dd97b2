"""Working copies of a screenshot at a fixed resolution in px per dp."""

from __future__ import annotations

import cv2
import numpy as np


def at_most(image_bgr: np.ndarray, density: float, px_per_dp: float) -> tuple[np.ndarray, float]:
    """The image shrunk to at most ``px_per_dp`` pixels per dp, and the factor applied (<= 1).

    Searching for shapes whose size is known in dp costs the same on every screen this way, instead of
    growing with the square of the device's density.
    """
    scale = min(1.0, px_per_dp / density)
    if scale >= 1.0:
        return image_bgr, 1.0
    return cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale
