"""Which kind of screen a screenshot shows: ``splash_ad``, ``popup``, ``permission`` or ``normal``.

The decision is a short, explainable chain over the cues found on the screen; each step that fires
leaves a reason, so a reader of the report can see why a screen was judged the way it was.
"""

from __future__ import annotations

from vision.controls import AdCues
from vision.types import Box, PermissionPrompt, ScreenKind


def classify(cues: AdCues, card: Box | None, permission: PermissionPrompt | None,
             status_bar_shown: bool = False) -> ScreenKind:
    """``status_bar_shown``: the system status bar (clock, battery) is visible over the screen."""
    if permission is not None:
        return ScreenKind("permission", 0.95, [f"permission prompt asks for {permission.kind}"])
    ad_signs = _ad_signs(cues)
    if cues.skip_controls:
        return ScreenKind("splash_ad", 0.9 if ad_signs else 0.7,
                          [f"skip control '{cues.skip_controls[0].text}'", *ad_signs])
    # A bright block in a full-screen ad (a letterboxed video, a game board) can look like a card; a
    # pop-up over the running app shows under its status bar.
    if cues.countdown and (not card or not status_bar_shown) and (ad_signs[1:] or cues.dismiss_controls):
        return ScreenKind("splash_ad", 0.75, [f"countdown '{cues.countdown.text}'", *ad_signs])
    if card is not None and (cues.dismiss_controls or ad_signs):
        reasons = ["card over a dimmed backdrop"]
        if cues.dismiss_controls:
            reasons.append(f"dismiss control '{cues.dismiss_controls[0].text}'")
        return ScreenKind("popup", 0.9, reasons + ad_signs)
    if cues.dismiss_controls and (cues.ad_label or cues.jump_buttons):
        # A full-screen ad closed by a ✕: launch splash ads run immersive (no status bar), while an
        # interstitial shows inside the running app, under its status bar.
        if status_bar_shown:
            return ScreenKind("popup", 0.7, [f"dismiss control '{cues.dismiss_controls[0].text}'",
                                             "status bar shown: an interstitial", *ad_signs])
        if _in_english(cues):
            # Launch splash ads are the Chinese market's form; an English full-screen ad closed by a ✕
            # is an ad SDK's interstitial (AdMob and the like also hide the status bar).
            return ScreenKind("popup", 0.6, [f"dismiss control '{cues.dismiss_controls[0].text}'",
                                             "full screen, in English: an ad SDK's interstitial", *ad_signs])
        return ScreenKind("splash_ad", 0.7, [f"dismiss control '{cues.dismiss_controls[0].text}'",
                                             "full screen, no status bar", *ad_signs])
    if len(ad_signs) >= 2:
        # An ad (label with a countdown or jump button) that offers no way out at all.
        return ScreenKind("splash_ad", 0.6, ad_signs + ["no close control"])
    return ScreenKind("normal", 0.8 if not ad_signs else 0.5, ad_signs or ["no ad or pop-up cues"])


def _ad_signs(cues: AdCues) -> list[str]:
    signs = []
    if cues.countdown:
        signs.append(f"countdown {cues.countdown.seconds}s")
    if cues.ad_label:
        signs.append(f"ad label '{cues.ad_label.text}'")
    if cues.jump_buttons:
        signs.append(f"jump button '{cues.jump_buttons[0].text}'")
    return signs


def _in_english(cues: AdCues) -> bool:
    """Whether the ad's own words (its label and jump buttons) are all in Latin letters."""
    words = [b.text for b in cues.jump_buttons] + ([cues.ad_label.text] if cues.ad_label else [])
    return bool(words) and all(text.isascii() for text in words)
