"""A second look for the short, small words the text detector misses: ad labels, faint skip links.

"广告标识近于无形" is exactly the label a detector tuned for body text passes over: 9-12 dp high, thin,
low contrast, often boxed in a hairline outline. Here small word-shaped blobs are found by local
gradient, each is cut out with a margin, enlarged to the recogniser's 48 px line height and read
directly. Only words that mean something to the rules (labels, skip/close words, countdowns) are kept,
so texture that happens to look like a word costs a little time and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision import components, lexicon, ocr, resample
from vision.types import Box, TextLine

#: Word blobs this high (dp) are looked at; bigger text is the main detector's job.
MIN_HEIGHT_DP, MAX_HEIGHT_DP = 5.0, 32.0
#: How far (grey levels) a stroke must stand out from around it; faint labels sit around 10-20.
MIN_EDGE_LEVELS = 7
#: Strokes up to this wide (dp) are a small word's; anything broader is background.
MAX_STROKE_DP = 3.0
MAX_CANDIDATES = 24
#: Strokes are looked for on a copy at most this many px per dp (a 1 dp stroke is still 2 px wide).
SEARCH_PX_PER_DP = 2.0
#: Share of a word blob's box its strokes must fill; a frame or a line drawing alone fills less.
MIN_BLOB_FILL = 0.25
#: A lone character is read again with this many character widths (its height) added on each side.
WIDEN_CHARS = 1.1


def _meaningful(text: str) -> bool:
    return bool(lexicon.ad_label(text) or lexicon.close_label(text)
                or lexicon.countdown_seconds(text) is not None)


#: A word is already read when a known text box spans it but for this much (share of its height) on
#: either side: less than a character, so what is missing is margin, not a glyph.
MAX_UNREAD_SIDE = 0.45


def _already_read(blob: Box, known: Box) -> bool:
    """Whether a text box read before holds this blob whole. A box covering only part of it (a label
    cut short at detection scale, read as "告" for "广告") leaves it to be read whole here."""
    if known.intersection(blob) < 0.5 * blob.area:
        return False
    slack_px = MAX_UNREAD_SIDE * blob.h
    return known.x - blob.x <= slack_px and blob.x2 - known.x2 <= slack_px


def _stroke_mask(image_bgr: np.ndarray, density: float) -> np.ndarray:
    """Pixels of thin strokes, lighter or darker than what is around them.

    Top-hat and black-hat keep only what is narrower than the kernel, so a word's strokes stand out
    while the edges of broad stripes, gradients and photo regions (which would join a label to its
    background into one blob) do not.
    """
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    size = max(3, round(MAX_STROKE_DP * density)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    lighter = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, kernel)
    darker = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)
    return (cv2.max(lighter, darker) >= MIN_EDGE_LEVELS).astype(np.uint8)


@dataclass(frozen=True)
class WordBlob:
    """A word-shaped cluster of strokes: its box, and the part to read (inside its frame, if any)."""

    box: Box
    read_box: Box


def word_blobs(image_bgr: np.ndarray, density: float | None,
               copies: resample.Copies | None = None) -> list[WordBlob]:
    """Word-shaped stroke clusters of small-text size, largest first."""
    copies = copies or resample.Copies(image_bgr, density)
    small, scale = copies.at_most(SEARCH_PX_PER_DP)
    density = copies.density * scale
    strokes = _stroke_mask(small, density)
    # Join the strokes of a word (and its outline box) into one blob.
    join = max(3, round(3 * density))
    joined = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, np.ones((max(3, join // 2), join), np.uint8))
    _, _, stats = components.with_stats(joined)
    found = []
    for x, y, w, h, area in stats[1:]:
        if not (MIN_HEIGHT_DP <= h / density <= MAX_HEIGHT_DP and 1.2 <= w / h <= 6.5) \
                or area / (w * h) < MIN_BLOB_FILL:
            continue
        box = Box(int(x), int(y), int(w), int(h))
        found.append(WordBlob(box.scaled(1 / scale), _inside_outline(strokes, box, density).scaled(1 / scale)))
    found.sort(key=lambda blob: -blob.read_box.area)
    return found


#: A blob whose four sides are stroke pixels along this share of their length is a word in a box.
MIN_OUTLINE_SIDE_SHARE = 0.7


def _inside_outline(strokes: np.ndarray, box: Box, density: float) -> Box:
    """The word inside a hairline box, when the blob is the box: read with its outline, "广告" in a
    frame reads as one boxed character. The outline is looked for near each side rather than on it,
    since background texture touching the frame can widen the blob."""
    patch = strokes[box.y:box.y2, box.x:box.x2].astype(np.float32)
    row_share, col_share = patch.mean(axis=1), patch.mean(axis=0)
    h, w = patch.shape
    edge_rows, edge_cols = max(1, h // 4), max(1, round(0.15 * w))
    top = int(np.argmax(row_share[:edge_rows]))
    bottom = h - edge_rows + int(np.argmax(row_share[-edge_rows:]))
    left = int(np.argmax(col_share[:edge_cols]))
    right = w - edge_cols + int(np.argmax(col_share[-edge_cols:]))
    side_share = min(row_share[top], row_share[bottom], col_share[left] * h / max(bottom - top, 1),
                     col_share[right] * h / max(bottom - top, 1))
    inset = max(2, round(1.2 * density))   # the hairline and the antialiasing beside it
    inside = patch[top + inset:bottom + 1 - inset, left + inset:right + 1 - inset]
    # A frame is dense on its sides and sparse within; a bold word is dense throughout.
    if side_share < MIN_OUTLINE_SIDE_SHARE or inside.size == 0 or inside.mean() > 0.5 * side_share:
        return box
    inner = Box.from_points(box.x + left + inset, box.y + top + inset,
                            box.x + right + 1 - inset, box.y + bottom + 1 - inset)
    return inner if inner.w >= 2 * inset and inner.h >= 2 * inset else box


def _read(image_bgr: np.ndarray, boxes: list[Box]) -> list[TextLine]:
    height, width = image_bgr.shape[:2]
    crops = []
    for box in boxes:
        pad = max(2, box.h // 5)
        region = box.expand(pad).clip(width, height)
        crop = image_bgr[region.y:region.y2, region.x:region.x2]
        scale = ocr.REC_HEIGHT_PX / max(crop.shape[0], 1)
        crops.append(cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))
    results = ocr.read_crops(crops)
    lines = []
    for box, (text, score) in zip(boxes, results):
        text = text.strip()
        if text and score >= ocr.MIN_TEXT_CONFIDENCE and _meaningful(text):
            lines.append(TextLine(box, text, round(float(score), 3)))
    return lines


def _widened(lines: list[TextLine], width_px: int, height_px: int) -> list[Box]:
    """Single characters read from the detector's boxes, widened by a character on each side: at
    detection scale an open glyph (广) can fall out of its word, leaving "告" to be read alone."""
    boxes = []
    for line in lines:
        text = line.text.strip()
        if len(text) == 1 and not text.isdigit():
            margin = round(WIDEN_CHARS * line.box.h)
            boxes.append(Box(line.box.x - margin, line.box.y, line.box.w + 2 * margin, line.box.h)
                         .clip(width_px, height_px))
    return boxes


def find_small_words(image_bgr: np.ndarray, density: float | None, read: list[TextLine],
                     pending: list[Box], blobs: list[WordBlob] | None = None,
                     skip_above_px: float = 0) -> list[TextLine]:
    """Short meaningful words (广告, 跳过, Skip, 5s, ...) the detector missed or cut short.

    ``read`` are the lines read so far; ``pending`` are text boxes found but not read yet; ``blobs``
    are :func:`word_blobs` of the image when already computed. Nothing ending above ``skip_above_px``
    is looked at (the system status bar, when it is shown).
    """
    if blobs is None:
        blobs = word_blobs(image_bgr, density)
    # A word in a hairline frame read with its frame comes back as one boxed character ("AD" as 同):
    # such a reading does not count, and the word is read again inside the frame.
    known = [(line.box, len(line.text.strip()) > 1) for line in read] + [(box, True) for box in pending]
    boxes = [b.read_box for b in blobs if b.box.y2 > skip_above_px
             and not any(_already_read(b.box, k) and (whole or b.read_box == b.box) for k, whole in known)]
    height, width = image_bgr.shape[:2]
    boxes = boxes[:MAX_CANDIDATES] + [box for box in _widened(read, width, height) if box.y2 > skip_above_px]
    return _read(image_bgr, boxes) if boxes else []


#: Ink is this many grey levels away from a line's background (its most common level).
INK_LEVELS = 40
#: Words of one line stand closer than this (share of the line's height); wider apart they are two
#: lines the detector ran together.
MIN_WORD_GAP = 0.35


def _background(crop: np.ndarray) -> int:
    """A line's background: its most common grey level."""
    return int(np.bincount(crop.ravel()).argmax())


def _ink(crop: np.ndarray, background: int) -> np.ndarray:
    """Where a line's pixels stand far from its background."""
    return np.abs(crop.astype(np.int16) - background) >= INK_LEVELS


def _widest_gap(gray: np.ndarray, box: Box) -> tuple[int, int] | None:
    """(start, end) x of the widest inkless run of columns inside a line, if wide enough."""
    crop = gray[box.y:box.y2, box.x:box.x2]
    if crop.size == 0:
        return None
    inked = np.flatnonzero(_ink(crop, _background(crop)).any(axis=0))
    if len(inked) < 2:
        return None
    steps = np.diff(inked)
    widest = int(steps.argmax())
    if steps[widest] - 1 < MIN_WORD_GAP * box.h:
        return None
    return box.x + int(inked[widest]) + 1, box.x + int(inked[widest + 1])


def _levels(crop: np.ndarray) -> tuple[int, int]:
    """(background, ink) grey levels of a piece of a line: its most common level, and the median of
    the pixels far from it."""
    background = _background(crop)
    ink = crop[_ink(crop, background)]
    return background, int(np.median(ink)) if ink.size else background


def _drawn_apart(gray: np.ndarray, box: Box, gap: tuple[int, int]) -> bool:
    """Whether the words either side of a gap differ in ink or background: one drawn on a pop-up's
    layer, the other on the dimmed page behind it. Words of one sentence share both."""
    left = gray[box.y:box.y2, box.x:gap[0]]
    right = gray[box.y:box.y2, gap[1]:box.x2]
    if left.size == 0 or right.size == 0:
        return False
    (left_bg, left_ink), (right_bg, right_ink) = _levels(left), _levels(right)
    return abs(left_ink - right_ink) >= INK_LEVELS or abs(left_bg - right_bg) >= INK_LEVELS


def split_off_close_words(image_bgr: np.ndarray, lines: list[TextLine]) -> list[TextLine]:
    """Close words ("关闭", "Later") read as part of a line whose other words stand far off and are
    drawn apart: a pop-up's control next to the dimmed text behind it, run into one line by the
    detector."""
    candidates = [(line, side) for line in lines if (side := lexicon.close_word_at_edge(line.text))]
    if not candidates:
        return []    # nearly every screen: no grey copy of the whole frame is made for nothing
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    boxes = []
    for line, side in candidates:
        gap = _widest_gap(gray, line.box)
        if gap is not None and _drawn_apart(gray, line.box, gap):
            boxes.append(Box(gap[1], line.box.y, line.box.x2 - gap[1], line.box.h) if side == "end"
                         else Box(line.box.x, line.box.y, gap[0] - line.box.x, line.box.h))
    return [line for line in _read(image_bgr, boxes) if lexicon.close_label(line.text)] if boxes else []
