"""Page layout cues: a modal card over a dimmed backdrop, and whether a text line sits among peers.

Both answer "is this a pop-up, or ordinary content?" without knowing the app.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.types import Box, TextLine

#: Layout is judged on a copy this many px wide: cards are large, detail does not matter.
LAYOUT_WIDTH_PX = 360
#: A dimmed backdrop: its brightest pixels are at most this share of the card's brightest pixels.
MAX_BACKDROP_BRIGHTNESS_SHARE = 0.78
MAX_BACKDROP_P95_LEVEL = 175


def _card_candidates(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    h, w = gray.shape
    edges = cv2.dilate(cv2.Canny(gray, 25, 75), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        x, y, cw, ch = cv2.boundingRect(contour)
        if cw < 0.45 * w or ch < 0.1 * h or cw * ch > 0.88 * w * h:
            continue
        hull_area = cv2.contourArea(cv2.convexHull(contour))
        if hull_area / (cw * ch) >= 0.85:
            boxes.append((x, y, cw, ch))
    return boxes


def _bottom_sheet_candidates(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Sheets that rise from the bottom edge: a long horizontal edge with the sheet below it."""
    h, w = gray.shape
    step = np.abs(np.diff(gray.astype(np.int16), axis=0)) > 25
    rows = np.flatnonzero(step.mean(axis=1) >= 0.8)
    # A sheet is at least a quarter of the screen; a splash ad's brand footer is a smaller band.
    rows = rows[(rows > 0.35 * h) & (rows < 0.75 * h)]
    return [(0, int(rows[0]) + 1, w, h - int(rows[0]) - 1)] if len(rows) else []


def _backdrop_is_dim(gray: np.ndarray, card: tuple[int, int, int, int]) -> bool:
    x, y, cw, ch = card
    outside = np.ones(gray.shape, bool)
    outside[y:y + ch, x:x + cw] = False
    if outside.sum() < 0.08 * gray.size:
        return False
    p95_out = float(np.percentile(gray[outside], 95))
    p95_in = float(np.percentile(gray[y:y + ch, x:x + cw], 95))
    return p95_out <= MAX_BACKDROP_P95_LEVEL and p95_out <= MAX_BACKDROP_BRIGHTNESS_SHARE * p95_in


def find_modal_card(image_bgr: np.ndarray) -> Box | None:
    """The largest card shown over a dimmed backdrop (a modal pop-up or dialog), if there is one."""
    height, width = image_bgr.shape[:2]
    scale = LAYOUT_WIDTH_PX / width
    small = cv2.resize(image_bgr, (LAYOUT_WIDTH_PX, max(int(height * scale), 1)),
                       interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    candidates = _card_candidates(gray) + _bottom_sheet_candidates(gray)
    cards = [c for c in candidates if _backdrop_is_dim(gray, c)]
    if not cards:
        return None
    x, y, cw, ch = max(cards, key=lambda c: c[2] * c[3])
    return Box(x, y, cw, ch).scaled(1 / scale)


def is_sheet(card: Box, width_px: int, height_px: int) -> bool:
    """A bottom sheet spans the width and reaches the bottom edge (unlike a floating card)."""
    return card.x <= 2 and card.x2 >= width_px - 2 and card.y2 >= height_px - 2


def backdrop_is_dim(image_bgr: np.ndarray, card: Box) -> bool:
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    return _backdrop_is_dim(gray, (card.x, card.y, card.w, card.h))


def peer_count(line: TextLine, lines: list[TextLine], screen_width_px: int) -> int:
    """How many other lines of about the same height stand in the same row or column nearby.

    Words that are list items, chips or chat messages have peers; a control stands alone or with one
    partner button.
    """
    count = 0
    cx, cy = line.box.center
    for other in lines:
        if other is line or not 0.7 <= other.box.h / max(line.box.h, 1) <= 1.43:
            continue
        ox, oy = other.box.center
        same_row = abs(oy - cy) <= 0.5 * line.box.h and abs(ox - cx) <= 0.5 * screen_width_px
        centred = abs(ox - cx) <= line.box.h
        flush = abs(other.box.x - line.box.x) <= line.box.h or abs(other.box.x2 - line.box.x2) <= line.box.h
        # Lists and chats run long down one edge; centred lines (a dialog's title, text, buttons) are few.
        same_column = (flush and abs(oy - cy) <= 9 * line.box.h) or (centred and abs(oy - cy) <= 4.5 * line.box.h)
        count += same_row or same_column
    return count
