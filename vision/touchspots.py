"""Touch indicators in a screen recording: Android's "show taps" dots, found between two frames.

With Settings > Developer options > Show taps on, Android draws a translucent white dot where a finger
touches (AOSP ``pointer_spot_touch``: a 32 dp sprite, hotspot at its centre) and fades it out over
200 ms once the finger lifts (``TouchSpotController``). In a recording the dot is what proves a tap:
where it landed and when.

Between two frames ``before`` and ``after``, a dot appearing brightens a round patch toward white by
one alpha over everything under it: ``(after - before) / (255 - before)`` is the same number at every
pixel of the patch, between 0.1 and 0.9 (an opaque white circle, such as a pop-up's ✕ button, is 1).
A dot fading is the same with the frames swapped. Where the content under it is white already, only
the dot's grey rim shows: a ring. A patch counts when its changed pixels surround its centre (a disc
or a ring), it is 16-48 dp across, and nothing else of its size changed around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Sizes a dot may have across (dp): AOSP's is 32 dp; OEM skins draw 20-44 dp.
SPOT_MIN_DP, SPOT_MAX_DP = 16.0, 48.0
#: A grey step this large (0-255) is a change; under it is video noise.
CHANGE_GREY = 10
#: The alpha of a translucent overlay, and how much it may vary over the patch (video noise).
ALPHA_RANGE, ALPHA_SPREAD = (0.08, 0.92), 0.18
#: Share of 16 directions around the centre the changed pixels must cover (a disc or a ring).
MIN_SECTORS = 13 / 16


@dataclass(frozen=True)
class Spot:
    """A touch dot seen changing between two frames: its centre and radius (px), appearing or fading."""

    x_px: float
    y_px: float
    radius_px: float
    appearing: bool
    alpha: float


def _alpha(lighter: np.ndarray, darker: np.ndarray, mask: np.ndarray) -> tuple[float, float] | None:
    """Median and spread of (lighter - darker) / (255 - darker) over ``mask``, where it can be told."""
    room = 255.0 - darker[mask]
    usable = room > 40                      # near-white underneath says nothing of the alpha
    if usable.sum() < 20:
        return None
    ratio = (lighter[mask][usable] - darker[mask][usable]) / room[usable]
    low, mid, high = np.percentile(ratio, [20, 50, 80])
    return float(mid), float(high - low)


def _round_patch(mask: np.ndarray, density: float) -> tuple[float, float, float] | None:
    """(x, y, radius) of the largest changed patch when it is a disc or ring of a dot's size."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    ys, xs = np.nonzero(labels == best)
    (cx, cy), radius = cv2.minEnclosingCircle(np.column_stack([xs, ys]).astype(np.float32))
    if not SPOT_MIN_DP / 2 <= radius / density <= SPOT_MAX_DP / 2:
        return None
    angles = np.arctan2(ys - cy, xs - cx)
    far = np.hypot(ys - cy, xs - cx) > radius * 0.5
    sectors = np.unique(((angles[far] + np.pi) / (2 * np.pi) * 16).astype(int) % 16)
    if len(sectors) < MIN_SECTORS * 16:
        return None
    return float(cx), float(cy), float(radius)


def _consistent(values: np.ndarray) -> bool:
    """Nearly all of one sign: an overlay going on or off, not content changing under it."""
    return values.size > 0 and max((values > 0).mean(), (values < 0).mean()) >= 0.85


def find_spot(before: np.ndarray, after: np.ndarray, box: tuple[int, int, int, int],
              density: float) -> Spot | None:
    """A touch dot appearing or fading inside ``box`` (x, y, w, h in px of the grey frames), or None.

    ``box`` is where the two frames differ (from their thumbnails), with a margin; the frames are
    full-size grey images of one recording.
    """
    x, y, w, h = box
    a = before[y:y + h, x:x + w].astype(np.float32)
    b = after[y:y + h, x:x + w].astype(np.float32)
    if a.size == 0:
        return None
    diff = b - a
    mask = np.abs(diff) > CHANGE_GREY
    patch = _round_patch(mask, density)
    if patch is None:
        return None
    cx, cy, radius = patch
    disc = np.zeros(mask.shape, np.uint8)
    cv2.circle(disc, (round(cx), round(cy)), max(1, round(radius * 0.75)), 1, -1)
    inner, rim = mask & disc.astype(bool), mask & ~disc.astype(bool)
    outside = np.zeros(mask.shape, np.uint8)
    cv2.circle(outside, (round(cx), round(cy)), round(radius * 1.25) + 2, 1, -1)
    if (mask & ~outside.astype(bool)).sum() > 0.1 * mask.sum():
        return None                         # more changed around it: a screen changing, not a dot
    alpha = 0.0
    if inner.sum() >= 0.25 * disc.sum():    # the white fill shows: one alpha over all it covers
        if not _consistent(diff[inner]):
            return None
        appearing = float(np.median(diff[inner])) > 0
        lighter, darker = (b, a) if appearing else (a, b)
        measured = _alpha(lighter, darker, inner)
        if measured is not None:
            alpha, spread = measured
            if not (ALPHA_RANGE[0] <= alpha <= ALPHA_RANGE[1] and spread <= ALPHA_SPREAD):
                return None
    else:                                   # on white only the grey rim shows: a ring
        if not _consistent(diff[rim]):
            return None
        appearing = float(np.median(diff[rim])) < 0
    return Spot(x + cx, y + cy, radius, appearing, alpha)


def candidate_boxes(cells: np.ndarray, cell_px: int, density: float) -> list[tuple[int, int, int, int]]:
    """Boxes (px, with a cell's margin) around each cluster of changed cells small enough to be a dot.

    ``cells`` is a boolean grid of changed cells, each ``cell_px`` screen px square.
    """
    count, _, stats, _ = cv2.connectedComponentsWithStats(cells.astype(np.uint8), connectivity=8)
    largest_cells = SPOT_MAX_DP * density / cell_px + 2
    boxes = []
    for label in range(1, count):
        cx, cy, cw, ch = (int(v) for v in stats[label, :4])
        if cw <= largest_cells and ch <= largest_cells:
            boxes.append(((cx - 1) * cell_px, (cy - 1) * cell_px, (cw + 2) * cell_px, (ch + 2) * cell_px))
    return [(max(x, 0), max(y, 0), w + min(x, 0), h + min(y, 0)) for x, y, w, h in boxes]
