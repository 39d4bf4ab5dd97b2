"""Finding ✕ close glyphs drawn as icons (not text), wherever they sit and whatever is behind them.

Method: binarise by local contrast in both polarities (a light ✕ on a dark circle, a dark ✕ on a light
card), take connected components of plausible size, and keep those whose pixels lie along both
diagonals of their bounding square and cover them end to end. A ✕ touching its outlined circle merges
with it into one component, so a component is also tested with its outer ring cut away. The visible
control is then the ✕ plus any shape that encloses it (a filled or outlined circle or square).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision import components, resample
from vision.types import Box

#: Shapes are searched at this resolution at most (px per dp).
SEARCH_PX_PER_DP = 2.0
#: Plausible ✕ extents, in dp: below this even a careless designer draws nothing; above, it is art.
MIN_GLYPH_DP = 4.0
MAX_GLYPH_DP = 40.0
#: Local-contrast binarisation: window in dp and how far (grey levels) a pixel must stand out.
WINDOW_DP = 12.0
OFFSET_LEVELS = 10
#: How well a component must follow both diagonals.
MIN_DIAGONAL_COVERAGE = 0.88
MIN_ON_DIAGONAL_SHARE = 0.85
#: A ✕ found only by its colour (not its brightness) must be at least this big (dp); being big, it is
#: looked for at a lower resolution.
SATURATION_MIN_DP = 7.0
SATURATION_SEARCH_PX_PER_DP = 1.5
#: This many ✕-like shapes of one size make a texture, not controls.
TEXTURE_MIN_REPEATS = 5
#: Pixels within this many levels per channel of the seed belong to the same shape fill (fixed
#: range: a floating range creeps through an anti-aliased edge one small step at a time).
FILL_TOLERANCE = 20


@dataclass(frozen=True)
class GlyphHit:
    """A ✕ found on screen: the glyph's own box, the visible control around it, and a 0-1 score."""

    glyph_box: Box
    control_box: Box
    score: float


def _binarise(channel: np.ndarray, density: float) -> list[np.ndarray]:
    """Pixels standing out from their neighbourhood, above and below it."""
    window = max(int(WINDOW_DP * density) | 1, 15)
    above = cv2.adaptiveThreshold(channel, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY,
                                  window, -OFFSET_LEVELS)
    below = cv2.adaptiveThreshold(channel, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                  window, OFFSET_LEVELS)
    return [above, below]


def _brightness_masks(image_bgr: np.ndarray, density: float) -> list[np.ndarray]:
    """Brightness finds most ✕: light on a dark circle, dark on a light card."""
    return _binarise(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY), density)


def _saturation_masks(image_bgr: np.ndarray, density: float) -> list[np.ndarray]:
    """Saturation finds a grey ✕ on a colourful ad of the same brightness."""
    return _binarise(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)[:, :, 1], density)


#: Where along each diagonal (share of its length) the patch is probed for the ✕'s strokes.
_DIAGONAL_STEPS = np.linspace(0.08, 0.92, 24)


def x_shape_score(mask: np.ndarray) -> float:
    """How much a binary patch (cropped to its foreground) looks like a ✕, from 0 to 1.

    Both diagonals must be covered end to end and nearly all foreground pixels must lie close to one
    of them; solid blobs, plus signs, rings and letters other than x fail one of the two tests.
    """
    h, w = mask.shape
    if h < 5 or w < 5 or not 0.6 <= w / h <= 1.65:
        return 0.0
    ys, xs = np.nonzero(mask)
    n = len(xs)
    if n == 0 or n / (w * h) > 0.62:   # thick rounded strokes fill up to about 0.6
        return 0.0
    length = float(np.hypot(w, h))
    stroke = max(n / (2 * length), 1.0)
    if stroke > 0.34 * min(w, h):
        return 0.0
    tol = stroke / 2 + max(1.5, 0.07 * min(w, h))
    # Distance of each pixel to the lines y = x*h/w and y = h - x*h/w (through the patch corners).
    px, py = xs + 0.5, ys + 0.5
    d1 = np.abs(h * px - w * py) / length
    d2 = np.abs(h * px + w * py - w * h) / length
    on_share = float(np.mean(np.minimum(d1, d2) <= tol))
    if on_share < MIN_ON_DIAGONAL_SHARE:
        return 0.0
    grown = cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=max(1, int(tol // 2)))
    rows = np.minimum((_DIAGONAL_STEPS * h).astype(int), h - 1)
    on1 = grown[rows, np.minimum((_DIAGONAL_STEPS * w).astype(int), w - 1)] > 0
    on2 = grown[rows, np.minimum(((1 - _DIAGONAL_STEPS) * w).astype(int), w - 1)] > 0
    cover1, cover2 = float(on1.mean()), float(on2.mean())
    # All four arms must reach their corners: a triangle (▷) or a letter covers most of both
    # diagonals but leaves a corner empty.
    arms_reach = bool(on1[:3].all() and on1[-3:].all() and on2[:3].all() and on2[-3:].all())
    if not arms_reach or min(cover1, cover2) < MIN_DIAGONAL_COVERAGE or on_share < MIN_ON_DIAGONAL_SHARE:
        return 0.0
    return round(float(min(cover1, cover2) * on_share), 3)


def _without_outer_ring(mask: np.ndarray) -> np.ndarray | None:
    """The patch with an enclosing ring cut away, cropped to what is left; None if nothing is left."""
    h, w = mask.shape
    radius = np.hypot(np.arange(w)[None, :] - w / 2, np.arange(h)[:, None] - h / 2) / (min(w, h) / 2)
    inner = np.where(radius < 0.62, mask, 0).astype(np.uint8)
    ys, xs = np.nonzero(inner)
    if len(xs) < 8:
        return None
    return inner[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


#: Neighbours this tall (times the ✕'s height), this close (gap, times its height), on both sides make
#: a ✕ a letter, or part of a character, in a line of text.
LETTER_HEIGHT_RANGE = (0.5, 2.5)
LETTER_GAP = 1.0


def _flanked_by_letters(stats: np.ndarray, index: int) -> bool:
    """Whether component ``index`` has letter-sized components beside it on its left and its right, on
    the same line: a ✕-like stroke pattern inside a word (x in "text", the top of 筑), not a control."""
    x, y, w, h = stats[index, :4]
    xs, ys, ws, hs = stats[1:, 0], stats[1:, 1], stats[1:, 2], stats[1:, 3]
    overlap = np.minimum(ys + hs, y + h) - np.maximum(ys, y)
    letters = (hs >= LETTER_HEIGHT_RANGE[0] * h) & (hs <= LETTER_HEIGHT_RANGE[1] * h) & (overlap >= 0.5 * h)
    letters[index - 1] = False
    left = letters & (xs + ws <= x + 1) & (x - (xs + ws) <= LETTER_GAP * h)
    right = letters & (xs >= x + w - 1) & (xs - (x + w) <= LETTER_GAP * h)
    return bool(left.any() and right.any())


def _component_hits(mask: np.ndarray, density: float) -> list[tuple[Box, float]]:
    min_px = max(6, int(MIN_GLYPH_DP * density))
    max_px = int(MAX_GLYPH_DP * density * 1.8)   # room for a ring merged around the ✕
    count, labels, stats = components.with_stats(mask)
    hits = []
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if not (min_px <= min(w, h) and max(w, h) <= max_px and 0.6 <= w / h <= 1.65):
            continue
        # Both strokes of a ✕ cross at its centre: most components fail this before any real test.
        centre = max(1, round(0.12 * min(w, h)))
        cy, cx = y + h // 2, x + w // 2
        if not (labels[cy - centre:cy + centre + 1, cx - centre:cx + centre + 1] == i).any():
            continue
        patch = (labels[y:y + h, x:x + w] == i).astype(np.uint8)
        score = x_shape_score(patch) if max(w, h) <= MAX_GLYPH_DP * density else 0.0
        if score:
            # A letter keeps score 0: not a control, but still counted when telling texture. So does
            # a ✕-like shape that is not its own mirror image (K: a stem and two arms).
            letter = _flanked_by_letters(stats, i) or not _mirror_symmetric(patch)
            hits.append((Box(int(x), int(y), int(w), int(h)), 0.0 if letter else score))
            continue
        inner = _without_outer_ring(patch)
        if inner is not None and min(inner.shape) >= max(min_px, 0.3 * max(w, h)) \
                and (score := x_shape_score(inner)):
            ih, iw = inner.shape
            # Place the inner ✕ back in screen coordinates (it is centred in its ring).
            hits.append((Box(int(x + (w - iw) / 2), int(y + (h - ih) / 2), int(iw), int(ih)),
                         score if _mirror_symmetric(inner) else 0.0))
    return hits


#: Share of a ✕'s pixels (intersection over union) its mirror images cover, left to right and top to
#: bottom. Anti-aliased ✕ at search resolution keep 0.7 and more; K and similar letters fall below.
MIN_MIRROR_OVERLAP = 0.6


def _mirror_symmetric(patch: np.ndarray) -> bool:
    shape = patch > 0
    for mirrored in (shape[:, ::-1], shape[::-1, :]):
        if (shape & mirrored).sum() / max(int((shape | mirrored).sum()), 1) < MIN_MIRROR_OVERLAP:
            return False
    return True


#: A drawn shape's outline steps in colour by at least this many levels (any channel, across 2 px) on
#: at least this share of its length; a gradient or photo region that merely stays within the fill
#: tolerance drifts out of it instead (a translucent pill fading in over a red gradient, for one).
MIN_OUTLINE_STEP_LEVELS = 12
MIN_SHARP_OUTLINE_SHARE = 0.5


def _colour_steps(crop: np.ndarray) -> np.ndarray:
    """The largest change of any channel across each pixel's 3 x 3 neighbourhood, in levels."""
    return cv2.morphologyEx(crop, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).max(axis=2)


def _sharp_outline_share(steps: np.ndarray, region: np.ndarray) -> float:
    """Share of the outer outline of ``region`` (a mask) where the colour steps sharply (``steps``)."""
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(region)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    outline = cv2.subtract(filled, cv2.erode(filled, np.ones((3, 3), np.uint8))) > 0
    if not outline.any():
        return 0.0
    return float((steps[outline] >= MIN_OUTLINE_STEP_LEVELS).mean())


def enclosing_shape(image_bgr: np.ndarray, inner: Box, max_growth: float = 3.2,
                    aspect_range: tuple[float, float] = (0.7, 1.45), sharp_outline: bool = False) -> Box:
    """The visible control around a ✕ or a label: the circle, square or pill it sits in, or itself.

    The pixels just around ``inner`` give the shape's fill colour; the region of that colour connected
    to them is the shape when it is bounded, within ``aspect_range`` (w / h) and at most ``max_growth``
    times the inner box's larger side, and (``sharp_outline``) when its outline is a drawn edge on at
    least MIN_SHARP_OUTLINE_SHARE of its length. The candidates' features are found without that test
    (the committed models were fitted so); a control is measured with it (``analyzer.measure_control``).
    """
    height, width = image_bgr.shape[:2]
    reach = int(max(inner.w, inner.h) * 0.5 * max_growth)
    region = inner.expand(reach).clip(width, height)
    # A median filter flattens photo noise and anti-aliasing so the fill reads as one colour.
    crop = cv2.medianBlur(image_bgr[region.y:region.y2, region.x:region.x2], 5)
    gx, gy = inner.x - region.x, inner.y - region.y
    pad = max(2, int(0.15 * min(inner.w, inner.h)))
    seeds = [(gx - pad, gy - pad), (gx + inner.w + pad, gy - pad),
             (gx - pad, gy + inner.h + pad), (gx + inner.w + pad, gy + inner.h + pad),
             (gx + inner.w // 2, gy - pad), (gx + inner.w // 2, gy + inner.h + pad)]
    best, steps = inner, _colour_steps(crop) if sharp_outline else None
    for sx, sy in seeds:
        if not (0 <= sx < crop.shape[1] and 0 <= sy < crop.shape[0]):
            continue
        flood = np.zeros((crop.shape[0] + 2, crop.shape[1] + 2), np.uint8)
        cv2.floodFill(crop.copy(), flood, (int(sx), int(sy)), (0, 0, 0), (FILL_TOLERANCE,) * 3,
                      (FILL_TOLERANCE,) * 3,
                      cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | 8 | (255 << 8))
        ys, xs = np.nonzero(flood[1:-1, 1:-1])
        if len(xs) == 0:
            continue
        x1, x2, y1, y2 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        touches = x1 == 0 or y1 == 0 or x2 == crop.shape[1] or y2 == crop.shape[0]
        w, h = x2 - x1, y2 - y1
        if touches or not aspect_range[0] <= w / h <= aspect_range[1] \
                or max(w, h) > max_growth * max(inner.w, inner.h) \
                or (sharp_outline and _sharp_outline_share(steps, flood[1:-1, 1:-1]) < MIN_SHARP_OUTLINE_SHARE):
            continue
        shape = Box(int(region.x + x1), int(region.y + y1), int(w), int(h)).union(inner)
        if shape.area > best.area:
            best = shape
    if best is not inner:
        ring = max(1, round(0.04 * min(best.w, best.h)))   # an outline around the fill is part of it
        best = best.expand(ring).clip(width, height)
    return best


def _drop_textures(hits: list[tuple[Box, float]]) -> list[tuple[Box, float]]:
    """A screen offers one or two ✕ controls; many ✕-like shapes of one size are a pattern (cross-
    hatching, stripes, a grid of icons, the x letters of a page of text), not controls. Letters
    (score 0) count towards a pattern and are dropped with it."""
    kept = []
    for box, score in hits:
        alike = sum(1 for other, _ in hits if 0.8 <= other.w / max(box.w, 1) <= 1.25)
        if score > 0 and alike < TEXTURE_MIN_REPEATS:
            kept.append((box, score))
    return kept


def find_close_glyphs(image_bgr: np.ndarray, density: float | None,
                      copies: resample.Copies | None = None) -> list[GlyphHit]:
    """Every ✕-shaped glyph on the screen, with the control that contains it; best first.

    Shapes are looked for on a copy at most ``SEARCH_PX_PER_DP`` px per dp (a 4 dp ✕ is still 8 px
    there); the control around each is measured on the full-resolution frame.
    """
    copies = copies or resample.Copies(image_bgr, density)
    density = copies.density
    hits: list[tuple[Box, float]] = []
    for masks, px_per_dp in ((_brightness_masks, SEARCH_PX_PER_DP),
                             (_saturation_masks, SATURATION_SEARCH_PX_PER_DP)):
        small, scale = copies.at_most(px_per_dp)
        for mask in masks(small, density * scale):
            found = _component_hits(mask, density * scale)
            if masks is _saturation_masks:   # noisier: only clear, control-sized shapes from it
                found = [(b, sc) for b, sc in found
                         if sc >= 0.95 and min(b.w, b.h) >= SATURATION_MIN_DP * density * scale]
            hits.extend((b.scaled(1 / scale) if scale < 1.0 else b, sc) for b, sc in found)
    hits = _drop_textures(hits)
    hits.sort(key=lambda hit: -hit[1])
    kept: list[GlyphHit] = []
    for box, score in hits:
        if any(box.iou(k.glyph_box) > 0.3 or k.control_box.contains(*box.center) for k in kept):
            continue
        kept.append(GlyphHit(box, enclosing_shape(image_bgr, box), score))
    return kept
