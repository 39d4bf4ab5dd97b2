"""Connected components of a binary mask, labelled in 16 bits when they fit."""

from __future__ import annotations

import cv2
import numpy as np


def with_stats(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, labels, stats) of the 8-connected components of ``mask``, as OpenCV gives them.

    16-bit labels take a third of the time of OpenCV's default 32-bit ones on a screenshot-sized mask
    (less memory to write); OpenCV refuses when there are more than 65,535 components (a mask of pure
    noise), and then 32 bits are used. The labels are the same either way.
    """
    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    return count, labels, stats
