"""A countdown that ticked: the same screen a second later, read again only where it changed.

A splash ad's "跳过 5" becomes "跳过 4" every second; nothing else on the screen moves. Reading the
countdown again where it was (one small text box, tens of ms) says what a full analysis (OCR of the
whole screen, most of a second on a photo) would, for a screen known a moment ago.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vision import framediff, lexicon, ocr
from vision.analyzer import measure_control
from vision.rules import RuleProfile
from vision.types import Box, CloseControl, Display, ScreenAnalysis
from vision.verdicts import judge_screen


def _quad(box: Box, margin_px: int, width: int, height: int) -> np.ndarray:
    b = box.expand(margin_px).clip(width, height)
    return np.array([[b.x, b.y], [b.x2, b.y], [b.x2, b.y2], [b.x, b.y2]], dtype=np.float32)


def _seconds(text: str) -> int | None:
    label = lexicon.close_label(text)
    return label[1] if label and label[1] is not None else lexicon.countdown_seconds(text)


def ticking_boxes(analysis: ScreenAnalysis) -> list[Box]:
    """Where a screen's countdown is shown: its countdown, and any close control whose label counts."""
    boxes = [analysis.countdown.box] if analysis.countdown is not None else []
    boxes += [c.box for c in analysis.close_controls if c.kind == "text" and _seconds(c.text) is not None]
    return boxes


def only_ticked(analysis: ScreenAnalysis, thumb_before: np.ndarray | None, thumb_after: np.ndarray) -> bool:
    """Whether every grid cell that changed between two thumbnails (``vision.framediff``) lies where
    ``analysis``, made on the frame before, shows its countdown: the same screen, a second later."""
    boxes = ticking_boxes(analysis)
    if not boxes or thumb_before is None or thumb_before.shape != thumb_after.shape:
        return False
    cells = framediff.cell_changes(thumb_before, thumb_after) > framediff.CELL_CHANGE
    cell_px = framediff.CELL_PX * framediff.THUMB_SCALE
    allowed = np.zeros(cells.shape, bool)
    for box in boxes:   # a cell of margin: a digit's anti-aliased edge may cross into the next cell
        allowed[max(box.y // cell_px - 1, 0):box.y2 // cell_px + 2,
                max(box.x // cell_px - 1, 0):box.x2 // cell_px + 2] = True
    return not (cells & ~allowed).any()


def reread(image_bgr: np.ndarray, analysis: ScreenAnalysis, display: Display,
           rules: RuleProfile) -> ScreenAnalysis | None:
    """``analysis`` with its countdown (and the labels that carry it) read again from ``image_bgr``,
    those labels measured again (``analyzer.measure_control``) and the screen's findings judged again
    (``rules``); None when the countdown cannot be read there (then the screen needs a full analysis)."""
    height, width = image_bgr.shape[:2]
    countdown = analysis.countdown
    counting = [c for c in analysis.close_controls if c.kind == "text" and _seconds(c.text) is not None]
    boxes = ([countdown.box] if countdown is not None else []) + [c.box for c in counting]
    if not boxes:
        return None
    texts = [ocr.recognise(image_bgr, [_quad(b, 4, width, height)]) for b in boxes]
    if any(len(found) != 1 or _seconds(found[0].text) is None for found in texts):
        return None
    new = replace(analysis, notes=[*analysis.notes, "countdown read again"])
    read = iter(found[0].text for found in texts)
    if countdown is not None:
        text = next(read)
        new.countdown = replace(countdown, seconds=_seconds(text), text=text)
    relabelled = {id(c): next(read) for c in counting}
    new.close_controls = [_remeasured(image_bgr, replace(c, text=relabelled[id(c)]), display)
                          if id(c) in relabelled else c for c in analysis.close_controls]
    new.ways_out = new.close_controls     # on an ad (where controls count down) they are one list
    new.findings = judge_screen(new, rules)
    return new


def _remeasured(image_bgr: np.ndarray, control: CloseControl, display: Display) -> CloseControl:
    if control.content_box is not None:
        measure_control(image_bgr, control, display)
    return control
