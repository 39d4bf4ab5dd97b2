"""Ad cues beyond the lexicon: which numbers are countdowns, words in frames or run into other
lines, ✕ shapes that are letters, and screen kinds."""

import cv2
import numpy as np

from crawler.imagefiles import read_bgr
from screen_scoring import SCREENS_DIR
from vision import lexicon, smalltext
from vision.analyzer import _confirm_countdown
from vision.controls import AdCues, find_ad_cues
from vision.types import Box, Countdown, Display, TextLine

DENSITY = 2.625
DISPLAY = Display(1080, 2400, DENSITY)


def _screen() -> np.ndarray:
    return np.full((2400, 1080, 3), 242, np.uint8)


def _cues(*numbers: Countdown) -> AdCues:
    return AdCues([], [], None, None, [], bare_numbers=list(numbers))


def _number_in_filled_circle(image: np.ndarray, centre: tuple[int, int], radius_px: int) -> Countdown:
    cv2.circle(image, centre, radius_px, (80, 230, 90), -1, cv2.LINE_AA)
    # A symbol the recogniser read as "7" (a play button, say): white strokes in the middle.
    x, y = centre
    cv2.rectangle(image, (x - 18, y - 12), (x + 18, y + 12), (255, 255, 255), 4)
    return Countdown(Box(x - 18, y - 12, 36, 24), 7, "7")


def test_a_number_in_an_icon_tile_with_a_caption_is_not_a_countdown():
    image = _screen()
    number = _number_in_filled_circle(image, (950, 890), 53)
    caption = TextLine(Box(913, 955, 72, 42), "更多", 1.0)

    cues = _cues(number)
    _confirm_countdown(image, cues, [caption], DISPLAY)
    assert cues.countdown is None

    # The same ring without the caption under it is a countdown: the caption is what decides.
    cues = _cues(number)
    _confirm_countdown(image, cues, [], DISPLAY)
    assert cues.countdown == number


def test_a_skip_word_under_a_ring_is_no_caption():
    image = _screen()
    number = _number_in_filled_circle(image, (950, 890), 53)
    cues = _cues(number)
    _confirm_countdown(image, cues, [TextLine(Box(913, 955, 72, 42), "跳过", 1.0)], DISPLAY)
    assert cues.countdown == number


def test_the_first_number_in_a_ring_is_taken_after_an_unread_badge():
    image = _screen()
    # An unread count: a 9 dp badge, too small for a countdown's ring.
    cv2.circle(image, (200, 600), 12, (40, 40, 230), -1, cv2.LINE_AA)
    badge = Countdown(Box(194, 592, 12, 16), 3, "3")
    # A countdown lower down, on the ad's dark picture: a thin ring of 40 dp around its number.
    cv2.rectangle(image, (0, 1200), (1080, 2400), (60, 40, 30), -1)
    cv2.circle(image, (960, 2200), 52, (255, 255, 255), 5, cv2.LINE_AA)
    cv2.putText(image, "5", (946, 2216), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (255, 255, 255), 3)
    ring = Countdown(Box(944, 2186, 30, 32), 5, "5")
    cues = _cues(badge, ring)
    _confirm_countdown(image, cues, [], DISPLAY)
    assert cues.countdown == ring


def test_a_countdown_that_says_so_wins_over_a_bare_number_above_it():
    lines = [TextLine(Box(931, 879, 36, 24), "7", 0.95), TextLine(Box(950, 2190, 60, 45), "5s", 0.99)]
    cues = find_ad_cues(lines, [], 1080, None)
    assert cues.countdown is not None and cues.countdown.text == "5s"
    assert [n.text for n in cues.bare_numbers] == ["7"]


FRAMED_AD = SCREENS_DIR / "splash_skip_plain_tl_2.625_14.png"   # "AD" in a hairline frame at 995,1725
FRAME_BOX = Box(992, 1720, 70, 51)


def test_a_framed_word_read_as_one_character_is_read_again_inside_its_frame():
    image = read_bgr(FRAMED_AD)
    found = smalltext.find_small_words(image, DENSITY, [TextLine(FRAME_BOX, "同", 0.72)], [])
    labels = [line for line in found if lexicon.ad_label(line.text)]
    assert len(labels) == 1 and FRAME_BOX.contains(*labels[0].box.center)


def test_a_framed_word_read_whole_is_not_read_twice():
    image = read_bgr(FRAMED_AD)
    found = smalltext.find_small_words(image, DENSITY, [TextLine(FRAME_BOX, "AD", 0.94)], [])
    assert not any(FRAME_BOX.contains(*line.box.center) for line in found)


MERGED_CLOSE = SCREENS_DIR / "popup_coupon_text_close_2.0_14.png"   # "关闭" under a card, beside dimmed "鲜果时光"


def test_a_close_word_run_into_the_dimmed_line_beside_it_is_read_on_its_own():
    image = read_bgr(MERGED_CLOSE)
    merged = TextLine(Box(172, 1187, 226, 69), "鲜果时光关闭", 0.999)
    found = smalltext.split_off_close_words(image, [merged])
    assert [line.text for line in found] == ["关闭"]
    assert Box(308, 1184, 104, 56).contains(*found[0].box.center)


def _english_line(text: str, second_words: str = "", second_ink=(30, 30, 30)) -> tuple[np.ndarray, TextLine]:
    image = np.full((120, 900, 3), 128, np.uint8)
    cv2.putText(image, text, (20, 75), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (30, 30, 30), 3, cv2.LINE_AA)
    if second_words:
        cv2.putText(image, second_words, (620, 75), cv2.FONT_HERSHEY_SIMPLEX, 1.6, second_ink, 3, cv2.LINE_AA)
    return image, TextLine(Box(10, 25, 880, 70), f"{text} {second_words}".strip(), 0.99)


def test_a_close_word_that_belongs_to_its_line_stays_in_it():
    assert lexicon.close_word_at_edge("Read later") == "end"
    image, line = _english_line("Read later")
    assert smalltext.split_off_close_words(image, [line]) == []


def test_a_close_word_far_from_the_rest_of_its_line_and_drawn_apart_is_split_off():
    # "Later" in a pop-up's white beside dimmed dark text: two lines the detector ran into one.
    image, line = _english_line("Fresh fruit", "Later", second_ink=(250, 250, 250))
    found = smalltext.split_off_close_words(image, [line])
    assert [lexicon.close_label(l.text) for l in found] == [("dismiss", None)]
    first_words_end_px = 20 + cv2.getTextSize("Fresh fruit", cv2.FONT_HERSHEY_SIMPLEX, 1.6, 3)[0][0]
    assert found[0].box.x > first_words_end_px
    # The same words far apart in the same ink are one line of one layer (a title, a table row).
    image, line = _english_line("Fresh fruit", "Later")
    assert smalltext.split_off_close_words(image, [line]) == []


def test_whole_labels_are_not_split():
    assert lexicon.close_word_at_edge("关闭") is None and lexicon.close_word_at_edge("以后再说") is None
    assert lexicon.close_word_at_edge("鲜果时光关闭") == "end" and lexicon.close_word_at_edge("取消 订单详情") == "start"


def test_which_x_shapes_are_letters_of_a_text_line():
    from vision.controls import is_letter_in
    from vision.glyphs import GlyphHit

    word = Box(100, 100, 200, 60)
    letter_x = GlyphHit(Box(180, 115, 24, 28), Box(180, 115, 24, 28), 0.9)
    assert is_letter_in(letter_x, word)
    # A dimmed sentence the detector ran on through a ✕'s circle that stands out of it.
    sentence = Box(22, 385, 658, 67)
    circled_x = GlyphHit(Box(596, 418, 24, 24), Box(574, 395, 69, 71), 1.0)
    assert not is_letter_in(circled_x, sentence)
    # A character alone in an app's logo tile: the tile is taller than its line, and still a letter.
    logo_char = Box(445, 2245, 90, 84)
    tile_x = GlyphHit(Box(460, 2262, 60, 50), Box(425, 2222, 130, 130), 0.86)
    assert is_letter_in(tile_x, logo_char)


def test_components_of_a_mask_too_noisy_for_16_bit_labels_are_still_found():
    from vision import components

    noise = np.zeros((600, 600), np.uint8)
    noise[::2, ::2] = 255                       # 90,000 lone pixels: more than 16 bits can label
    count, labels, stats = components.with_stats(noise)
    assert count == 90_001 and labels.max() == 90_000 and stats.shape == (90_001, 5)
    count, labels, _ = components.with_stats(noise[:100, :100])
    assert count == 2_501 and labels.dtype == np.uint16


def test_a_skip_word_written_down_a_vertical_bar_is_one_control():
    down = [TextLine(Box(1068, 282, 64, 65), "跳", 1.0), TextLine(Box(1071, 334, 56, 55), "过", 1.0)]
    cues = find_ad_cues(down, [], 1179, None)
    assert [c.text for c in cues.skip_controls] == ["跳过"]
    assert cues.skip_controls[0].box == Box(1068, 282, 64, 107)
    # The same characters side by side, or one under the other far apart, are not joined.
    across = [TextLine(Box(1000, 282, 64, 65), "跳", 1.0), TextLine(Box(1070, 282, 64, 65), "过", 1.0)]
    apart = [TextLine(Box(1068, 282, 64, 65), "跳", 1.0), TextLine(Box(1068, 420, 64, 65), "过", 1.0)]
    assert not find_ad_cues(across, [], 1179, None).skip_controls
    assert not find_ad_cues(apart, [], 1179, None).skip_controls


def test_the_close_of_a_full_screen_ad_counts_far_from_a_bright_block_in_it():
    from crawler.profiles import load_profile
    from vision import analyze

    from vision.analyzer import decide, gather

    image = read_bgr(SCREENS_DIR / "heldout" / "popup_admob_game_tr_lowcontrast_iph.png")
    display = load_profile("iphone-1179x2556-3").display((image.shape[1], image.shape[0]))
    the_close = Box(1077, 213, 60, 60)
    analysis = analyze(image, display)
    assert any(the_close.contains(*c.box.center) for c in analysis.close_controls)
    # The game board, as the layout took it for a card until a backdrop's bright text ("Build your
    # kingdom") was known to make it no veil: the ✕ far from that block still counts.
    evidence = gather(image, display)
    evidence.card = Box(59, 845, 1061, 1205)
    analysis = decide(evidence, image, display)
    assert any(the_close.contains(*c.box.center) for c in analysis.close_controls)


# An avatar's "K" at search resolution, as the brightness mask of a held-out screen gave it.
_K = """
111000000001110
111000000111110
111000000111100
111000001111000
111000011110000
111000111100000
111001111000000
111111110000000
111111111000000
111111111000000
111100111100000
111000011110000
111000001111000
111000001111100
111000000111110
111000000011110
111000000001111"""


def test_a_letter_k_follows_both_diagonals_but_is_no_mirror_image_of_itself():
    from vision import glyphs

    k = np.array([[int(c) for c in row] for row in _K.split()], np.uint8)
    assert glyphs.x_shape_score(k) > 0                       # the diagonal tests alone take it
    assert not glyphs._mirror_symmetric(k)
    cross = np.zeros((17, 17), np.uint8)
    cv2.line(cross, (1, 1), (15, 15), 1, 3)
    cv2.line(cross, (15, 1), (1, 15), 1, 3)
    assert glyphs.x_shape_score(cross) > 0 and glyphs._mirror_symmetric(cross)
