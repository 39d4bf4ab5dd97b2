"""A second look for the short, small words the text detector misses: ad labels, faint skip links.

"广告标识近于无形" is exactly the label a detector tuned for body text passes over: 9-12 dp high, thin,
low contrast, often boxed in a hairline outline. Here small word-shaped blobs are found by local
gradient, each is cut out with a margin, enlarged to the recogniser's 48 px line height and read
directly. Only words that mean something to the rules (labels, skip/close words, countdowns) are kept,
so texture that happens to look like a word costs a little time and nothing else.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision import lexicon, ocr
from vision.types import Box, TextLine

#: Word blobs this high (dp) are looked at; bigger text is the main detector's job.
MIN_HEIGHT_DP, MAX_HEIGHT_DP = 5.0, 22.0
#: Gradient (grey levels) that counts as an edge of a glyph; faint labels sit around 10-20.
MIN_EDGE_LEVELS = 9
MAX_CANDIDATES = 24
REC_HEIGHT_PX = 48


def _meaningful(text: str) -> bool:
    return bool(lexicon.ad_label(text) or lexicon.close_label(text)
                or lexicon.countdown_seconds(text) is not None)


def _candidates(image_bgr: np.ndarray, density: float, known: list[Box]) -> list[Box]:
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    gray = cv2.medianBlur(gray, 3)
    gradient = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edges = (gradient >= MIN_EDGE_LEVELS).astype(np.uint8)
    # Join the strokes of a word (and its outline box) into one blob.
    join = max(3, round(3 * density))
    blobs = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((max(3, join // 2), join), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    found = []
    for x, y, w, h, area in stats[1:]:
        h_dp = h / density
        if not (MIN_HEIGHT_DP <= h_dp <= MAX_HEIGHT_DP and 1.2 <= w / h <= 6.5):
            continue
        box = Box(int(x), int(y), int(w), int(h))
        # Skip words already read; a box covering only part of the blob (a label cut short at
        # detection scale, read as "告") leaves it to be read whole here.
        if any(k.intersection(box) >= 0.6 * box.area for k in known):
            continue
        fill = area / (w * h)
        if fill < 0.25:
            continue
        found.append((box, fill))
    found.sort(key=lambda item: -item[0].area)
    return [box for box, _ in found[:MAX_CANDIDATES]]


def _read(image_bgr: np.ndarray, boxes: list[Box]) -> list[TextLine]:
    height, width = image_bgr.shape[:2]
    crops = []
    for box in boxes:
        pad = max(2, box.h // 5)
        region = box.expand(pad).clip(width, height)
        crop = image_bgr[region.y:region.y2, region.x:region.x2]
        scale = REC_HEIGHT_PX / max(crop.shape[0], 1)
        crops.append(cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))
    results, _ = ocr.engine().text_rec(crops)
    lines = []
    for box, (text, score) in zip(boxes, results):
        text = text.strip()
        if text and score >= ocr.MIN_TEXT_CONFIDENCE and _meaningful(text):
            lines.append(TextLine(box, text, round(float(score), 3)))
    return lines


def find_small_words(image_bgr: np.ndarray, density: float | None, known: list[Box]) -> list[TextLine]:
    """Short meaningful words (广告, 跳过, Skip, 5s, ...) outside the text boxes already found."""
    density = density or image_bgr.shape[1] / 360
    boxes = _candidates(image_bgr, density, known)
    return _read(image_bgr, boxes) if boxes else []
