"""The analyzer scored on every labelled screen in fixtures/screens."""

import pytest

from crawler.imagefiles import read_bgr
from crawler.profiles import load_profile
from screen_scoring import Score, load_truths
from vision import analyze

TRUTHS = load_truths()


@pytest.fixture(scope="module")
def score() -> Score:
    result = Score()
    for truth in TRUTHS:
        image = read_bgr(truth["path"])
        display = load_profile(truth["profile"]).display((image.shape[1], image.shape[0]))
        result.add(truth, analyze(image, display))
    print("\n" + result.summary() + "\n" + "\n".join(result.misses))
    return result


def test_there_are_enough_labelled_screens_of_every_kind():
    kinds = {t["screen_kind"] for t in TRUTHS}
    assert len(TRUTHS) >= 80
    assert kinds == {"splash_ad", "popup", "permission", "normal"}
    assert len({t["density"] for t in TRUTHS}) >= 3


def test_close_controls_precision_and_recall(score):
    assert score.close_recall >= 0.97, score.summary()
    assert score.close_precision >= 0.97, score.summary()


def test_screen_kind_ad_label_and_permission(score):
    assert score.share(score.kind_right) >= 0.95, score.summary()
    assert score.share(score.label_right) >= 0.95, score.summary()
    assert score.share(score.permission_right) >= 0.95, score.summary()
