"""What one screenshot's analysis is enough to accuse an app of, and what it is not."""

import pytest

from vision.rules import load_rule_profile
from vision.types import Box, Countdown, ScreenAnalysis, ScreenKind
from vision.verdicts import SURE_SCREEN_KIND, judge_screen

RULES = load_rule_profile()


def close_present(kind: str, confidence: float, countdown: Countdown | None = None) -> str:
    analysis = ScreenAnalysis((1080, 2400), 3.0, ScreenKind(kind, confidence), countdown=countdown)
    return next(f.verdict for f in judge_screen(analysis, RULES) if f.rule == "CLOSE_PRESENT")


@pytest.mark.parametrize("kind", ["popup", "splash_ad"])
def test_a_screen_with_no_way_out_is_accused_only_when_it_is_surely_an_overlay(kind):
    assert close_present(kind, 0.61) == "inconclusive"        # an ordinary page may look like a dialog
    assert close_present(kind, SURE_SCREEN_KIND) == "violation"


def test_an_ad_cue_is_proof_enough_whatever_the_judgement_of_the_screen():
    countdown = Countdown(Box(900, 100, 120, 60), 5, "5s")
    assert close_present("splash_ad", 0.5, countdown) == "violation"    # a countdown and no way out
