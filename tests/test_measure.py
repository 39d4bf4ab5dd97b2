"""Measurements: WCAG's contrast examples, dp and mm conversions, a control measured to its edge."""

import cv2
import numpy as np
import pytest

from vision import measure
from vision.analyzer import measure_control
from vision.types import Box, CloseControl, Display


def hex_rgb(code: str) -> tuple[int, int, int]:
    return tuple(int(code[i:i + 2], 16) for i in (0, 2, 4))


@pytest.mark.parametrize("fg, bg, expected", [
    ("000000", "FFFFFF", 21.0),     # the maximum
    ("FFFFFF", "FFFFFF", 1.0),      # the minimum
    ("767676", "FFFFFF", 4.54),     # WCAG's lightest grey passing 4.5:1 on white
    ("949494", "FFFFFF", 3.03),     # the lightest grey passing 3:1 on white
    ("0000FF", "FFFFFF", 8.59),     # pure blue on white
    ("FF0000", "FFFFFF", 4.0),      # pure red on white
])
def test_contrast_ratio_matches_wcag_examples(fg, bg, expected):
    assert measure.contrast_ratio(hex_rgb(fg), hex_rgb(bg)) == pytest.approx(expected, abs=0.01)


def test_relative_luminance_of_white_and_black():
    assert measure.relative_luminance((255, 255, 255)) == pytest.approx(1.0)
    assert measure.relative_luminance((0, 0, 0)) == 0.0


def test_dp_and_mm_conversions():
    assert measure.px_to_dp(48, 3.0) == 16.0
    assert measure.px_to_dp(42, 2.625) == pytest.approx(16.0)
    assert measure.px_to_mm(160, 16.0) == 10.0
    display = Display(1080, 2400, 3.0, px_per_mm=17.0)
    assert measure.size_dp(Box(0, 0, 72, 36), display) == (24.0, 12.0)
    assert measure.size_mm(Box(0, 0, 170, 34), display) == (10.0, 2.0)
    with pytest.raises(ValueError):
        measure.px_to_dp(10, 0)


def test_unknown_density_gives_no_sizes():
    display = Display(1080, 2400, None)
    assert measure.size_dp(Box(0, 0, 10, 10), display) is None
    assert measure.size_mm(Box(0, 0, 10, 10), display) is None
    assert measure.position(Box(0, 0, 10, 10), display) is None


def test_swatch_separates_text_from_its_background_despite_antialiasing():
    crop = np.full((40, 100, 3), 255, np.uint8)             # white background
    crop[15:25, 10:90] = (0x76, 0x76, 0x76)                  # grey "text" (BGR = RGB for greys)
    crop[14, 10:90] = (0xBB, 0xBB, 0xBB)                     # an anti-aliased edge row
    assert measure.crop_contrast_ratio(crop, Box(0, 0, 100, 40)) == pytest.approx(4.54, abs=0.05)


def test_uniform_crop_is_not_evaluated():
    crop = np.full((30, 30, 3), 128, np.uint8)
    assert measure.crop_contrast_ratio(crop, Box(0, 0, 30, 30)) is None


def test_position_flags_status_bar_and_edges():
    display = Display(1080, 2400, 3.0, status_bar_dp=24, gesture_bar_dp=16)
    top_right = measure.position(Box(1050, 10, 27, 27), display)
    assert top_right.in_status_bar and not top_right.in_gesture_bar
    assert top_right.edge_distance_dp["right"] == 1.0
    bottom = measure.position(Box(500, 2370, 30, 24), display)
    assert bottom.in_gesture_bar and not bottom.in_status_bar
    middle = measure.position(Box(500, 1000, 60, 60), display)
    assert not middle.in_status_bar and not middle.in_gesture_bar
    assert middle.edge_distance_dp == {"left": 166.7, "top": 333.3, "right": 173.3, "bottom": 446.7}


def _radial_gradient(width_px: int, height_px: int, centre, inner_bgr, outer_bgr) -> np.ndarray:
    ys, xs = np.mgrid[0:height_px, 0:width_px]
    t = np.clip(np.hypot(xs - centre[0], ys - centre[1]) / 300.0, 0, 1)[..., None]
    return ((1 - t) * np.array(inner_bgr) + t * np.array(outer_bgr)).astype(np.uint8)


@pytest.mark.parametrize("opacity", [0.08, 0.15, 0.3, 0.6])
def test_a_translucent_pill_over_a_gradient_is_measured_as_the_pill_not_the_background_it_matches(opacity):
    # A 跳过 pill fading in (black at ``opacity``) over a red radial gradient, as splash ads draw it: the
    # background near the pill stays within the fill tolerance of the pill's own fill.
    image = _radial_gradient(1082, 700, (947, 147), (80, 80, 250), (30, 30, 120))
    pill = image.copy()
    cv2.rectangle(pill, (897, 102), (997, 192), (0, 0, 0), -1)
    cv2.circle(pill, (897, 147), 45, (0, 0, 0), -1)
    cv2.circle(pill, (997, 147), 45, (0, 0, 0), -1)
    image = cv2.addWeighted(pill, opacity, image, 1 - opacity, 0)
    for x in range(890, 1010, 20):          # the label's strokes
        cv2.rectangle(image, (x, 125), (x + 8, 170), (235, 235, 250), -1)
    control = CloseControl(Box(884, 119, 130, 55), "text", "跳过 3", 0.9)
    measure_control(image, control, Display(1082, 700, 2.625))
    pill_box = Box(852, 102, 191, 91)
    # Never the background around it; the pill itself once it stands out (at 8 % it barely does, and the
    # label alone is what can be made out).
    assert pill_box.expand(4).contains(control.box.x, control.box.y) \
        and pill_box.expand(4).contains(control.box.x2, control.box.y2), control.box
    if opacity >= 0.15:
        assert control.box.iou(pill_box) > 0.85, control.box


def test_a_control_showing_through_a_dialogs_veil_is_no_brighter_than_the_veiled_page():
    from vision.dismiss import Candidate, measure_brightness
    page = np.full((2400, 1080, 3), 245, np.uint8)                       # a light page with text rows
    for y in range(300, 2200, 120):
        cv2.rectangle(page, (60, y), (900, y + 40), (40, 40, 40), -1)
    cv2.circle(page, (990, 1500), 55, (60, 60, 200), -1)                 # a chat bubble with a ✕
    cv2.line(page, (965, 1475), (1015, 1525), (255, 255, 255), 6)
    cv2.line(page, (1015, 1475), (965, 1525), (255, 255, 255), 6)
    veiled = (page * 0.45).astype(np.uint8)                               # the dialog's scrim
    card = Box(140, 800, 800, 700)
    cv2.rectangle(veiled, (card.x, card.y), (card.x2, card.y2), (255, 255, 255), -1)
    cv2.circle(veiled, (540, 1640), 45, (255, 255, 255), 3)              # the pop-up's own ⓧ under the card
    cv2.line(veiled, (520, 1620), (560, 1660), (255, 255, 255), 3)
    cv2.line(veiled, (560, 1620), (520, 1660), (255, 255, 255), 3)

    def candidate(box):
        return Candidate(CloseControl(box=box, kind="glyph", text="✕", confidence=1.0), box, "close")
    through, own, inside = candidate(Box(935, 1445, 110, 110)), candidate(Box(495, 1595, 90, 90)), \
        candidate(Box(440, 1380, 200, 80))
    measure_brightness(veiled, [through, own, inside], card)
    assert through.over_backdrop < 1.2 and through.peak_level < 0.5
    assert own.over_backdrop > 1.8 and own.peak_level > 0.95
    assert inside.over_backdrop > 1.8
    measure_brightness(page, [through], None)                            # no dialog: no backdrop to judge
    assert through.over_backdrop == -1.0 and through.peak_level > 0.95
