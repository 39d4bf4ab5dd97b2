"""Measurements of on-screen controls: size in dp and mm, WCAG contrast, position against the edges.

Conventions: boxes are in screenshot pixels; ``density`` is px per dp (Android densityDpi / 160, iOS
scale); ``px_per_mm`` is the physical pixel pitch. Colours are BGR uint8 as OpenCV gives them.
"""

from __future__ import annotations

import numpy as np

from vision.types import Box, Display, Position

#: A crop whose pixels are this uniform has no foreground: contrast is "not evaluated".
_MIN_SECOND_COLOUR_SHARE = 0.01
#: Colours are merged into bins of this many levels per channel before counting, which folds the
#: anti-aliased edge shades into their neighbours much as ATF's enhanced mode does with CIE94 < 2.
_QUANT_LEVELS = 8


def px_to_dp(length_px: float, density: float) -> float:
    """Convert a length in pixels to dp (Android) or points (iOS): ``px / density``."""
    if density <= 0:
        raise ValueError(f"density must be positive, got {density}")
    return length_px / density


def px_to_mm(length_px: float, px_per_mm: float) -> float:
    """Convert a length in pixels to millimetres on the physical screen."""
    if px_per_mm <= 0:
        raise ValueError(f"px_per_mm must be positive, got {px_per_mm}")
    return length_px / px_per_mm


def size_dp(box: Box, display: Display) -> tuple[float, float] | None:
    """Width and height of a box in dp, or None when the density is unknown."""
    if not display.density:
        return None
    return (round(px_to_dp(box.w, display.density), 1), round(px_to_dp(box.h, display.density), 1))


def size_mm(box: Box, display: Display) -> tuple[float, float] | None:
    """Width and height of a box in mm, or None when the physical pitch is unknown."""
    if not display.px_per_mm:
        return None
    return (round(px_to_mm(box.w, display.px_per_mm), 2), round(px_to_mm(box.h, display.px_per_mm), 2))


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour given as 0-255 channels (R, G, B)."""
    def linear(channel: float) -> float:
        c = channel / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(rgb_a: tuple[float, float, float], rgb_b: tuple[float, float, float]) -> float:
    """WCAG contrast ratio ``(L1 + 0.05) / (L2 + 0.05)`` of two sRGB colours, from 1 to 21."""
    la, lb = relative_luminance(rgb_a), relative_luminance(rgb_b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def swatch_colours(crop_bgr: np.ndarray) -> tuple[tuple[int, int, int], tuple[int, int, int]] | None:
    """Estimate (foreground, background) RGB colours of a crop, after ATF's ContrastSwatch.

    Colours are counted after light quantisation; colours under 1% of the pixels are dropped. The
    distinct colours are split at their mean luminance; the background is the most frequent colour on
    one side and the foreground the most frequent on the other (the background being the more frequent
    of the two). Returns None for a uniform crop, which has no foreground to measure.
    """
    pixels = crop_bgr.reshape(-1, 3)
    if len(pixels) == 0:
        return None
    step = 256 // _QUANT_LEVELS
    binned = (pixels // step).astype(np.int32)
    keys = binned[:, 0] * _QUANT_LEVELS * _QUANT_LEVELS + binned[:, 1] * _QUANT_LEVELS + binned[:, 2]
    counts = np.bincount(keys, minlength=_QUANT_LEVELS ** 3)
    kept = np.flatnonzero(counts >= max(1, _MIN_SECOND_COLOUR_SHARE * len(pixels)))
    if len(kept) < 2:
        return None
    # Represent each bin by the mean of its real pixels, not the bin centre, to keep the ratio exact.
    sums = np.zeros((_QUANT_LEVELS ** 3, 3))
    np.add.at(sums, keys, pixels.astype(np.float64))
    colours = {k: tuple(sums[k][::-1] / counts[k]) for k in kept}
    lum = {k: relative_luminance(colours[k]) for k in kept}
    mean_lum = float(np.mean(list(lum.values())))
    dark = [k for k in kept if lum[k] <= mean_lum]
    light = [k for k in kept if lum[k] > mean_lum]
    if not dark or not light:
        return None
    dark_top = max(dark, key=lambda k: counts[k])
    light_top = max(light, key=lambda k: counts[k])
    bg, fg = (dark_top, light_top) if counts[dark_top] >= counts[light_top] else (light_top, dark_top)
    as_int = lambda c: tuple(int(round(v)) for v in c)  # noqa: E731
    return as_int(colours[fg]), as_int(colours[bg])


def crop_contrast_ratio(image_bgr: np.ndarray, box: Box, margin_px: int = 0) -> float | None:
    """Contrast ratio of what a box shows against what is right around it, or None if uniform."""
    h, w = image_bgr.shape[:2]
    region = box.expand(margin_px).clip(w, h)
    if region.area == 0:
        return None
    swatch = swatch_colours(image_bgr[region.y:region.y2, region.x:region.x2])
    if swatch is None:
        return None
    return round(contrast_ratio(*swatch), 2)


def position(box: Box, display: Display) -> Position | None:
    """Distances from the box to each screen edge in dp, and whether a system bar covers it.

    A box counts as inside a bar when at least half of its height lies within that bar.
    """
    if not display.density:
        return None
    d = display.density
    edges = {
        "left": box.x / d,
        "top": box.y / d,
        "right": (display.width_px - box.x2) / d,
        "bottom": (display.height_px - box.y2) / d,
    }
    status_px = display.status_bar_dp * d
    gesture_top_px = display.height_px - display.gesture_bar_dp * d
    half = box.h / 2
    in_status = display.status_bar_dp > 0 and (min(box.y2, status_px) - box.y) >= half
    in_gesture = display.gesture_bar_dp > 0 and (box.y2 - max(box.y, gesture_top_px)) >= half
    return Position(edge_distance_dp={k: round(v, 1) for k, v in edges.items()},
                    in_status_bar=bool(in_status), in_gesture_bar=bool(in_gesture))
