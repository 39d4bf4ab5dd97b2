"""What changed where between two frames, from a small grey thumbnail cut into a coarse grid.

A global colour histogram barely moves when a 70 x 32 dp 跳过 pill appears in a corner of a photo ad,
so a late close control went unseen. Here a frame is shrunk to 1/8 (JPEG decodes at that scale almost
for free), cut into cells of CELL_PX x CELL_PX thumbnail pixels (about 12 dp square on a phone), and
two frames differ when any one cell's mean grey difference passes CELL_CHANGE.
"""

from __future__ import annotations

import cv2
import numpy as np

#: A thumbnail is this many times smaller than its frame, on each side (as cv2.IMREAD_REDUCED_GRAYSCALE_8).
THUMB_SCALE = 8
#: Cell side in thumbnail px (x 8 in screen px: 32 px, 12 dp at density 2.625).
CELL_PX = 4
#: Mean absolute grey difference (0-255) over one cell that counts as a change there. A countdown
#: digit ticking, a pill or a ✕ of 12 dp appearing on a photo pass it (7-8 for the ✕); new grain alone gives
#: under 2, identical frames 0.
CELL_CHANGE = 5.0
#: Two frames show the same screen when under this share of cells changed (a clock, a carousel).
SAME_SCREEN_MAX_CHANGED = 0.12


def thumbnail(image_bytes: bytes) -> np.ndarray | None:
    """A grey 1/8-scale copy of an encoded frame (PNG or JPEG), or None if it does not decode."""
    return cv2.imdecode(np.frombuffer(image_bytes, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)


def thumbnail_of(image_bgr: np.ndarray) -> np.ndarray:
    """The same grey 1/8-scale copy of a decoded frame (a video's): area-averaged, then grey."""
    height, width = image_bgr.shape[:2]
    size = (max(1, width // THUMB_SCALE), max(1, height // THUMB_SCALE))
    small = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)


def cell_changes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute grey difference per grid cell (rows x cols); frames of other sizes differ everywhere."""
    if a.shape != b.shape:
        return np.full((1, 1), 255.0)
    diff = cv2.absdiff(a, b).astype(np.float32)
    rows, cols = max(1, diff.shape[0] // CELL_PX), max(1, diff.shape[1] // CELL_PX)
    # INTER_AREA averages each cell (the last partial row/column is folded into its neighbour).
    return cv2.resize(diff, (cols, rows), interpolation=cv2.INTER_AREA)


def changed(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """True when any cell of the grid changed: something appeared, moved or went anywhere on screen."""
    if a is None or b is None:
        return True
    return bool((cell_changes(a, b) > CELL_CHANGE).any())


def same_screen(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """True when the two frames show the same screen give or take small live parts (clock, carousel)."""
    if a is None or b is None:
        return False
    return float((cell_changes(a, b) > CELL_CHANGE).mean()) < SAME_SCREEN_MAX_CHANGED


def region(box, thumb: np.ndarray | None, margin_px: int = 1) -> tuple[slice, slice]:
    """The thumbnail rows and columns under a box given in screen px (a little margin around it)."""
    height, width = thumb.shape[:2] if thumb is not None else (0, 0)
    x1, y1 = max(box.x // THUMB_SCALE - margin_px, 0), max(box.y // THUMB_SCALE - margin_px, 0)
    x2, y2 = min(-(-box.x2 // THUMB_SCALE) + margin_px, width), min(-(-box.y2 // THUMB_SCALE) + margin_px, height)
    return slice(y1, y2), slice(x1, x2)


def region_distance(a: np.ndarray | None, b: np.ndarray | None, rows_cols: tuple[slice, slice]) -> float:
    """Mean grey difference of two thumbnails inside a region (inf when either is missing)."""
    if a is None or b is None or a.shape != b.shape:
        return float("inf")
    crop_a, crop_b = a[rows_cols], b[rows_cols]
    return float(cv2.absdiff(crop_a, crop_b).mean()) if crop_a.size else float("inf")


#: Residual, as a share of the mean difference between the two ends, under which a region counts as
#: a blend of them. A pill fading in leaves 0.00-0.03 (JPEG); a ✕ growing in, 0.12; another screen, 0.19.
BLEND_MAX_RESIDUAL = 0.06


def blend_share(thumb: np.ndarray, start: np.ndarray, end: np.ndarray, rows_cols: tuple[slice, slice]) -> float | None:
    """How far ``thumb`` has gone from ``start`` towards ``end`` inside a region, when it is a blend of
    the two (a control fading in over the same picture): 0 at ``start``, 1 at ``end``.

    None when the two ends are alike there (no cell of them differs) or ``thumb`` is not between
    them: a least-squares share whose residual passes BLEND_MAX_RESIDUAL, or a share outside 0-1.
    """
    if not (thumb.shape == start.shape == end.shape):
        return None
    now, first, last = (x[rows_cols].astype(np.float32) for x in (thumb, start, end))
    span = last - first
    if not span.size or not changed(start[rows_cols], end[rows_cols]):
        return None
    share = float(((now - first) * span).sum() / (span * span).sum())
    residual = float(np.abs(now - first - share * span).mean()) / float(np.abs(span).mean())
    if residual > BLEND_MAX_RESIDUAL or not -0.05 <= share <= 1.05:
        return None
    return min(max(share, 0.0), 1.0)
