"""Drawing what the analyzer found onto a copy of the screenshot."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vision.types import Box, ScreenAnalysis

COLOURS = {"close": (0, 200, 83), "close_bad": (229, 57, 53), "ad_label": (41, 121, 255),
           "jump": (255, 145, 0), "countdown": (170, 0, 255), "permission": (0, 184, 212),
           "purpose": (0, 150, 136), "shake": (255, 64, 129)}
_FONT_PATHS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
               "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]


@lru_cache(maxsize=4)
def _font(size_px: int):
    for path in _FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size_px)
    return ImageFont.load_default()


def _draw_box(draw: ImageDraw.ImageDraw, box: Box, colour, label: str, line_px: int, font) -> None:
    draw.rectangle([box.x, box.y, box.x2, box.y2], outline=colour, width=line_px)
    tx, ty = box.x, max(box.y - font.size - 4, 0)
    bounds = draw.textbbox((tx, ty), label, font=font)
    draw.rectangle(bounds, fill=colour)
    draw.text((tx, ty), label, fill=(255, 255, 255), font=font)


def annotate(image_bgr: np.ndarray, analysis: ScreenAnalysis) -> Image.Image:
    """A copy of the screenshot with every found control, label and prompt boxed and named."""
    image = Image.fromarray(np.ascontiguousarray(image_bgr[:, :, ::-1]))
    draw = ImageDraw.Draw(image)
    line_px = max(2, image.width // 300)
    font = _font(max(14, image.width // 40))
    bad_rules = {f.rule for f in analysis.findings if f.verdict == "violation"}
    close_bad = bool(bad_rules & {"CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION"})
    for control in analysis.close_controls:
        size = f" {min(control.size_dp):.0f}dp" if control.size_dp else ""
        _draw_box(draw, control.box, COLOURS["close_bad" if close_bad else "close"],
                  f"close{size}", line_px, font)
    if analysis.countdown:
        _draw_box(draw, analysis.countdown.box, COLOURS["countdown"],
                  f"countdown {analysis.countdown.seconds}", line_px, font)
    if analysis.ad_label:
        _draw_box(draw, analysis.ad_label.box, COLOURS["ad_label"], "ad label", line_px, font)
    for jump in analysis.jump_buttons:
        _draw_box(draw, jump.box, COLOURS["jump"], "jump", line_px, font)
    if analysis.permission:
        _draw_box(draw, analysis.permission.box, COLOURS["permission"],
                  f"permission: {analysis.permission.kind}", line_px, font)
        if analysis.permission.purpose_overlay:
            _draw_box(draw, analysis.permission.purpose_overlay.box, COLOURS["purpose"], "purpose",
                      line_px, font)
    if analysis.shake:
        cue = analysis.shake
        _draw_box(draw, cue.box, COLOURS["shake"], "shake cue" if cue.result_stated else "shake cue, no result",
                  line_px, font)
        if cue.result_box is not None and cue.result_box != cue.box:
            _draw_box(draw, cue.result_box, COLOURS["shake"], "shake result", line_px, font)
    return image


def save_annotated(image_bgr: np.ndarray, analysis: ScreenAnalysis, path: Path,
                   max_width_px: int = 540) -> None:
    """Write the annotated frame (PNG, or JPEG when ``path`` ends in .jpg), shrunk to ``max_width_px``
    to keep reports light."""
    picture = annotate(image_bgr, analysis)
    if picture.width > max_width_px:
        picture = picture.resize((max_width_px, round(picture.height * max_width_px / picture.width)))
    picture.save(path, optimize=True, **({"quality": 85} if Path(path).suffix == ".jpg" else {}))
