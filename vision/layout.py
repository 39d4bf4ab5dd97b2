"""Page layout cues: a modal card over a dimmed backdrop, and whether a text line sits among peers.

Both answer "is this a pop-up, or ordinary content?" without knowing the app.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision import components
from vision.types import Box, TextLine

#: Layout is judged on a copy this many px wide: cards are large, detail does not matter.
LAYOUT_WIDTH_PX = 360
#: A dimmed backdrop: its brightest pixels are at most this share of the card's brightest pixels.
MAX_BACKDROP_BRIGHTNESS_SHARE = 0.82
MAX_BACKDROP_P95_LEVEL = 205   # a 20% black veil over white
#: A veil dims even the page's white text; a dark-theme page's text stays bright, letter after letter.
#: A few bright marks may show (a floating bubble or a banner drawn above the scrim); text makes dozens.
BRIGHT_MARK_LEVEL = 225
MAX_BACKDROP_BRIGHT_MARKS = 20
#: The system bars as shares of the screen height (24 dp and 48 dp on a 640 dp tall phone).
STATUS_BAR_SHARE, NAV_BAR_SHARE = 0.04, 0.075
DARK_BAR_LEVEL = 40
#: How much of the screen, system bars aside, must show around a card to judge the backdrop by:
#: a toolbar alone is a coloured band, not a veiled page.
MIN_BACKDROP_SHARE = 0.10


def _card_candidates(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    h, w = gray.shape
    edges = cv2.dilate(cv2.Canny(gray, 25, 75), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        x, y, cw, ch = cv2.boundingRect(contour)
        if cw < 0.45 * w or ch < 0.1 * h or cw * ch > 0.88 * w * h:
            continue
        if x <= 1 and x + cw >= w - 1:
            continue   # a full-width band (a brand footer, a toolbar) floats over nothing
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


def _veiled_card(value: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The bright block over a veiled screen, found from the veil itself: for cards whose outline is
    broken (a picture header, a ✕ on the edge) into pieces no single contour holds."""
    h, w = value.shape
    band = value[int(0.06 * h):int(0.2 * h)]          # below the status bar, above most cards
    if float(np.mean(band <= MAX_BACKDROP_P95_LEVEL)) < 0.97:
        return []
    bright = (value > MAX_BACKDROP_P95_LEVEL + 20).astype(np.uint8)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    count, _, stats = components.with_stats(bright)
    blobs = [tuple(int(v) for v in stats[i][:4]) for i in range(1, count)
             if stats[i][4] >= 0.05 * h * w and stats[i][1] > 0.15 * h]
    return [max(blobs, key=lambda b: b[2] * b[3])] if blobs else []


def _system_bar_rows(value: np.ndarray) -> np.ndarray:
    """Rows of the status bar and of a dark navigation bar: drawn by the system over any veil, they
    say nothing of the app's backdrop."""
    h = value.shape[0]
    rows = np.zeros(h, bool)
    rows[:int(STATUS_BAR_SHARE * h)] = True
    bottom = int((1 - NAV_BAR_SHARE) * h)
    dark = value[bottom:].mean(axis=1) < DARK_BAR_LEVEL
    rows[bottom:] = dark.mean() >= 0.8
    return rows


def _backdrop_is_dim(value: np.ndarray, card: tuple[int, int, int, int]) -> bool:
    """Whether what lies around a card (not next to it: a card's picture header or the ✕ under it
    may not be part of the outline found) is veiled: its brightest pixels stay dim."""
    x, y, cw, ch = card
    h, w = value.shape
    # A tall floating card leaves little around it: the margin shrinks until enough of the backdrop
    # shows, the system bars not counted. Not for a full-width block: under a dark picture header or
    # a coloured toolbar, a page's white body is one, and the page is all there is to judge by.
    floating = x > 0.02 * w and x + cw < 0.98 * w
    system_bars = _system_bar_rows(value)[:, None]
    for margin_share in (0.5, 0.25, 0.1) if floating else (0.5,):
        outside = np.ones(value.shape, bool)
        mx, my = int(0.1 * cw), int(margin_share * ch)
        outside[max(0, y - my):min(h, y + ch + my), max(0, x - mx):min(w, x + cw + mx)] = False
        outside &= ~system_bars
        if outside.sum() >= MIN_BACKDROP_SHARE * value.size:
            break
    else:
        return False
    p95_out = float(np.percentile(value[outside], 95))
    p95_in = float(np.percentile(value[y:y + ch, x:x + cw], 95))
    if p95_out > MAX_BACKDROP_P95_LEVEL or p95_out > MAX_BACKDROP_BRIGHTNESS_SHARE * p95_in:
        return False
    bright_marks = components.with_stats(((value > BRIGHT_MARK_LEVEL) & outside).astype(np.uint8))[0] - 1
    return bright_marks <= MAX_BACKDROP_BRIGHT_MARKS


def find_modal_card(image_bgr: np.ndarray) -> Box | None:
    """The largest card shown over a dimmed backdrop (a modal pop-up or dialog), if there is one."""
    height, width = image_bgr.shape[:2]
    scale = LAYOUT_WIDTH_PX / width
    small = cv2.resize(image_bgr, (LAYOUT_WIDTH_PX, max(int(height * scale), 1)),
                       interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    # Brightness as the largest channel: a black veil lowers it, while a vivid orange ad keeps it
    # high even though its luminance is moderate.
    value = small.max(axis=2)
    floating = _card_candidates(gray) + _veiled_card(value)
    # An edge across the screen that cuts through a floating card is part of the card (its picture
    # header, a row of buttons), not the top of a sheet.
    sheets = [s for s in _bottom_sheet_candidates(gray)
              if not any(y + 2 < s[1] < y + ch - 2 for _, y, _, ch in floating)]
    candidates = floating + sheets
    # A full-width band is a card only as a sheet of at least a quarter of the screen: a splash ad's
    # brand footer is a smaller band under a dark picture.
    candidates = [c for c in candidates if c[2] < 0.98 * LAYOUT_WIDTH_PX or c[1] <= 0.75 * gray.shape[0]]
    cards = [c for c in candidates if _backdrop_is_dim(value, c)]
    if not cards:
        return None
    x, y, cw, ch = max(cards, key=lambda c: c[2] * c[3])
    return Box(x, y, cw, ch).scaled(1 / scale)


def is_sheet(card: Box, width_px: int, height_px: int) -> bool:
    """A bottom sheet spans the width and reaches the bottom edge (unlike a floating card)."""
    return card.x <= 2 and card.x2 >= width_px - 2 and card.y2 >= height_px - 2


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


#: Beside a ✕, a shape counts as its row's peer when it is this big against the ✕ (height, width).
ICON_PEER_HEIGHT = (0.5, 2.0)
ICON_PEER_WIDTH = (0.4, 2.5)
MAX_ICON_PEERS = 6


def icon_peers(image_bgr: np.ndarray, box: Box) -> int:
    """How many shapes about as big as ``box`` (a ✕) stand in its row.

    A ✕ that closes an ad or a pop-up stands alone; one among a toolbar's icons, or beside a ✓ on a
    dating app's card (reject / accept), is an action of the page. Shapes are edge components in a
    band around the row, counted when their centre is within half the ✕'s height of its centre.
    """
    height_px = image_bgr.shape[0]
    cy = box.y + box.h // 2
    reach_px = max(8, round(1.5 * box.h))
    y0, y1 = max(0, cy - reach_px), min(height_px, cy + reach_px)
    edges = cv2.Canny(cv2.cvtColor(image_bgr[y0:y1], cv2.COLOR_BGR2GRAY), 40, 120)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    own = box.expand(round(0.2 * box.w))
    count = 0
    for x, y, w, h, _ in stats[1:n]:
        cx, shape_cy = x + w / 2, y0 + y + h / 2
        if (abs(shape_cy - cy) <= 0.5 * box.h and not own.contains(cx, shape_cy)
                and ICON_PEER_HEIGHT[0] * box.h <= h <= ICON_PEER_HEIGHT[1] * box.h
                and ICON_PEER_WIDTH[0] * box.w <= w <= ICON_PEER_WIDTH[1] * box.w):
            count += 1
    return min(count, MAX_ICON_PEERS)
