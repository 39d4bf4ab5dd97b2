"""The shake cue (摇一摇) on labelled screens, and what one frame can say of SHAKE_JUMP.

fixtures/screens/shake holds shake ads composed over real screenshots (fixtures/compose_shake_screens.py):
cues with and without the result of shaking stated, and hard negatives (a tap-only splash, a 摇滚
festival, a milkshake, WeChat's 发现 menu with its 摇一摇 item). The rendered, held-out and real
screens are scored for shake cues too (tests/test_fixture_screens.py, tests/test_real_screens.py):
none of them but the one held-out shake ad may show a cue.
"""

import pytest

from crawler.imagefiles import read_bgr
from crawler.serialize import analysis_dict
from screen_scoring import SCREENS_DIR, Score, load_truths
from vision import Display, analyze
from vision.rules import load_rule_profile
from vision.shake import find_shake_cue
from vision.types import Box, ScreenAnalysis, ScreenKind, TextLine
from vision.verdicts import judge_screen

SHAKE = load_truths(SCREENS_DIR / "shake")


@pytest.fixture(scope="module")
def scored():
    score, analyses = Score(), {}
    for truth in SHAKE:
        image = read_bgr(truth["path"])
        analyses[truth["image"]] = analysis = analyze(image, Display(image.shape[1], image.shape[0],
                                                                     truth["density"]))
        score.add(truth, analysis)
    print("\nshake screens: " + score.summary() + "\n" + "\n".join(score.misses))
    return score, analyses


def test_the_shake_screens_hold_cues_with_and_without_a_result_and_hard_negatives():
    with_cue = [t for t in SHAKE if t["shake"]]
    assert len(with_cue) >= 7 and len(SHAKE) - len(with_cue) >= 4
    assert sum(t["shake"]["result_text"] is None for t in with_cue) >= 3
    assert all(t["image"].endswith(".jpg") for t in SHAKE)


def test_the_cue_is_found_where_there_is_one_with_its_result_and_nowhere_else(scored):
    score, _ = scored
    assert score.shake_right == score.shake_screens, score.misses
    assert score.shake_false == [], score.misses


def test_one_frame_warns_of_a_cue_without_its_result_and_never_passes_one(scored):
    _, analyses = scored
    for truth in SHAKE:
        shake = [f for f in analyses[truth["image"]].findings if f.rule == "SHAKE_JUMP"]
        if truth["shake"] is None:
            assert shake == []
        else:
            want = "warning" if truth["shake"]["result_text"] is None else "inconclusive"
            assert [f.verdict for f in shake] == [want], shake
    data = analysis_dict("x.jpg", analyses["shake_disc_result.jpg"])
    assert data["shake"]["text"] == "摇一摇" and "第三方应用" in data["shake"]["result_text"]


def _line(text: str, x: int, y: int, w: int, h: int) -> TextLine:
    return TextLine(Box(x, y, w, h), text, 0.95)


def test_a_result_is_read_from_the_cue_line_or_the_line_by_it_not_from_far_away():
    same = find_shake_cue([_line("摇一摇 跳转详情页或第三方应用", 200, 1800, 700, 60)], 1080)
    assert same.result_text and same.result_box == same.box
    under = find_shake_cue([_line("摇一摇", 440, 1700, 200, 70), _line("跳转详情页或第三方应用", 340, 1790, 400, 45)],
                           1080)
    assert under.result_text == "跳转详情页或第三方应用"
    far = find_shake_cue([_line("摇一摇", 440, 1700, 200, 70), _line("点击跳转详情页", 340, 400, 400, 45)], 1080)
    assert far.text == "摇一摇" and far.result_text is None
    english = find_shake_cue([_line("Shake your phone to learn more", 200, 1700, 680, 60)], 1080)
    assert english.result_stated


@pytest.mark.parametrize("text", ["Milkshake", "Shake Shack", "摇滚音乐节", "扭蛋机", "摇号结果查询",
                                  "Shake to snooze", "Shake to undo", "Fixed shake to snooze on many phones"])
def test_words_that_only_contain_shake_letters_are_no_cue(text):
    assert find_shake_cue([_line(text, 300, 900, 400, 60)], 1080) is None


def test_a_menu_item_named_shake_is_no_cue_but_a_centred_bare_cue_is():
    menu = [_line(t, 150, 300 + 170 * i, 150, 50) for i, t in enumerate(["扫一扫", "摇一摇", "看一看", "搜一搜"])]
    assert find_shake_cue(menu, 1080) is None
    bare = find_shake_cue([_line("摇一摇", 440, 1700, 200, 70)], 1080)
    assert bare is not None and not bare.result_stated


def test_a_frame_without_a_cue_says_nothing_of_shake_jump():
    analysis = ScreenAnalysis((1080, 2400), 3.0, ScreenKind("splash_ad", 0.9))
    assert not [f for f in judge_screen(analysis, load_rule_profile()) if f.rule == "SHAKE_JUMP"]
