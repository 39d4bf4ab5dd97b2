"""The analyzer scored on every labelled screen in fixtures/screens."""

import cv2
import pytest

from crawler.imagefiles import read_bgr
from crawler.profiles import load_profile
from screen_scoring import SCREENS_DIR, Score, load_truths
from vision import Display, analyze

TRUTHS = load_truths()


def _scored(alter=None, truths=TRUTHS, known_density=True) -> Score:
    result = Score()
    for index, truth in enumerate(truths):
        image = read_bgr(truth["path"])
        if alter is not None:
            image = alter(index, image)
        display = (load_profile(truth["profile"]).display((image.shape[1], image.shape[0])) if known_density
                   else Display(image.shape[1], image.shape[0], None))
        result.add(truth, analyze(image, display))
    print("\n" + result.summary() + "\n" + "\n".join(result.misses))
    return result


@pytest.fixture(scope="module")
def score() -> Score:
    return _scored()


def _jpeg(image):
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1], cv2.IMREAD_COLOR)


#: Changes a screenshot of the same screen goes through elsewhere: JPEG from a device farm's capture,
#: a pixel less (a rounding of the size) or a pixel shifted (a frame or crop of one pixel).
NUISANCES = [_jpeg, lambda image: image[:-1, :-1],
             lambda image: cv2.copyMakeBorder(image, 1, 0, 1, 0, cv2.BORDER_REPLICATE)[:-1, :-1]]


@pytest.fixture(scope="module")
def nuisance_score() -> Score:
    return _scored(lambda index, image: NUISANCES[index % len(NUISANCES)](image))


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
    assert score.shake_false == [], score.summary()     # no shake ad among them: no shake cue found


def test_scores_hold_when_the_same_screens_are_re_encoded_cropped_or_shifted(nuisance_score):
    # What the detectors learnt from these screens must not hang on their exact pixels: the analyzer
    # will meet screens it has never seen. A little slack below the bars above, not more.
    assert nuisance_score.close_recall >= 0.95, nuisance_score.summary()
    assert nuisance_score.close_precision >= 0.95, nuisance_score.summary()
    assert nuisance_score.share(nuisance_score.kind_right) >= 0.95, nuisance_score.summary()
    assert nuisance_score.share(nuisance_score.label_right) >= 0.95, nuisance_score.summary()
    assert nuisance_score.share(nuisance_score.permission_right) >= 0.95, nuisance_score.summary()


HELD_OUT = load_truths(SCREENS_DIR / "heldout")


def test_designs_the_analyzer_was_not_built_on_stay_above_their_floor():
    """Screens of another generator's designs (AdMob-like interstitials, Material rating dialogs,
    countdown-only video ads, new Chinese skip controls, hard negatives): measured when the set came,
    before any change for it (close P 0.846 R 0.759, kind 0.786, ad label 0.881, permission 1.000).
    The floor, one or two screens under what general fixes won since (0.963 / 0.897 / 0.952 / 0.976),
    keeps them from sliding back."""
    assert len(HELD_OUT) >= 40
    score = _scored(truths=HELD_OUT)
    assert score.close_recall >= 0.85, score.summary()
    assert score.close_precision >= 0.90, score.summary()
    assert score.share(score.kind_right) >= 0.90, score.summary()
    assert score.share(score.label_right) >= 0.92, score.summary()
    assert score.share(score.permission_right) >= 0.95, score.summary()
    # One of them is a shake ad (摇一摇 over 跳转详情页或第三方应用): its cue and result, and no cue elsewhere.
    assert score.shake_right == score.shake_screens == 1 and score.shake_false == [], score.summary()


def test_screenshots_of_unknown_density_are_judged_nearly_as_well():
    # `splashaudit analyze shot.png` with no --profile or --density: the density is assumed from the
    # width (vision.types.ASSUMED_WIDTH_DP): 2.75 for the 1080 px screens drawn at 3.0 and at 2.625,
    # 1.83 for the 720 px ones drawn at 2.0.
    score = _scored(known_density=False)
    assert score.close_recall >= 0.95, score.summary()
    assert score.close_precision >= 0.95, score.summary()
    assert score.share(score.kind_right) >= 0.95, score.summary()
    assert score.share(score.label_right) >= 0.95, score.summary()
