"""The analyzer on real phone screenshots, scored on the ones its models were not fitted on.

fixtures/screens/real holds 314 Android screenshots from AidUI's evaluation set (MIT, see LICENSE there),
labelled by hand for this project (close controls as boxes, screen kind, ad label, permission prompt).
They are cut into two folds by app (tests/screen_scoring.real_fold). The committed models were fitted by
fixtures/train_models.py on the rendered screens and real fold A only: fold B is data they never saw,
and it is analysed here from the image files, as `splashaudit analyze` would.
"""

import numpy as np
import pytest

from crawler.imagefiles import read_bgr
from screen_scoring import SCREENS_DIR, Score, load_truths, real_fold
from vision import Display, analyze

REAL = load_truths(SCREENS_DIR / "real")
FOLD_B = [t for t in REAL if real_fold(t["image"]) == "B"]


def test_the_real_screens_are_all_labelled_and_both_folds_hold_pop_ups():
    assert len(REAL) == 314
    for fold in "AB":
        kinds = [t["screen_kind"] for t in REAL if real_fold(t["image"]) == fold]
        assert kinds.count("popup") >= 15 and kinds.count("normal") >= 60, fold


@pytest.fixture(scope="module")
def held_out() -> Score:
    result = Score()
    for truth in FOLD_B:
        image = read_bgr(truth["path"])
        result.add(truth, analyze(image, Display(image.shape[1], image.shape[0], truth.get("density"))))
    print("\nreal fold B (not fitted on): " + result.summary() + "\n" + "\n".join(result.misses))
    return result


def test_real_screens_the_models_never_saw(held_out):
    # Floors a screen or two under what fold B scored when the models were committed (README): close
    # P 0.974 R 0.905 (38 of 42, 39 reported), ads/pop-ups recognised 0.918 (45 of 49), ordinary screens
    # clean 0.976 (80 of 82): issue 9's bar (R 0.90 at P 0.95, 0.90, 0.97) is met; they keep most of it.
    assert held_out.close_recall >= 0.88, held_out.summary()
    assert held_out.close_precision >= 0.92, held_out.summary()
    assert held_out.overlay_rate >= 0.89, held_out.summary()
    assert held_out.normal_clean_rate >= 0.95, held_out.summary()
    assert held_out.prompts_right == held_out.permission_screens, held_out.summary()
    # Taken for a pop-up is not yet accused of one without a way out: that needs a sure call
    # (vision.verdicts.SURE_SCREEN_KIND). One login card over a dark page (0.96) still is; three were.
    assert len(held_out.accused_ordinary) <= 2, held_out.accused_ordinary
    # AidUI's screens hold no shake ad (摇一摇): a shake cue found on one is a false alarm.
    assert held_out.shake_false == [], held_out.summary()


def test_confidence_of_the_close_controls_found_means_what_it_says(held_out):
    """Calibrated on real screens: the controls reported at a confidence are right about that often."""
    assert held_out.close_found >= 10
    expected_right = sum(held_out.confidences)
    assert abs(expected_right - held_out.close_matched) <= 0.2 * held_out.close_found + 2, (
        expected_right, held_out.close_matched, held_out.close_found)


def test_the_exported_forest_votes_as_scikit_learn_does():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
    import train_models

    rng = np.random.default_rng(7)
    rows = rng.normal(size=(400, 5)).astype(np.float32)
    labels = ((rows[:, 0] + rows[:, 1] * rows[:, 2]) > 0.3).astype(int)
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(n_estimators=15, max_depth=6, random_state=1).fit(rows, labels)
    exported = train_models.to_forest(model, ("no", "yes"), tuple("abcde"))
    probe = rng.normal(size=(200, 5)).astype(np.float32)
    assert np.allclose(exported.shares(probe), model.predict_proba(probe), atol=1e-5)


def test_a_card_over_a_dimmed_page_is_found_on_real_screens_and_seldom_imagined():
    """vision.layout on both folds (its few constants were set by hand, not fitted): the dialogs and
    offers labelled as shown over a dimmed page, and the ordinary screens, where a card is a false cue."""
    from vision.layout import find_modal_card

    dimmed = [t for t in REAL if "dimmed_backdrop" in t.get("tags", []) and t["screen_kind"] == "popup"]
    ordinary = [t for t in REAL if t["screen_kind"] == "normal"]
    found = [t["image"] for t in dimmed if find_modal_card(read_bgr(t["path"])) is not None]
    imagined = [t["image"] for t in ordinary if find_modal_card(read_bgr(t["path"])) is not None]
    # 28 of 42 and 9 of 214 since tall cards get a narrower margin (before: 24 of 42, 15 of 214);
    # 28 of 42 and 3 of 214 since a backdrop whose white text stays bright, letter after letter, is a
    # dark page, not a veil.
    assert len(dimmed) == 42 and len(found) >= 27, sorted(set(t["image"] for t in dimmed) - set(found))
    assert len(imagined) <= 4, imagined
