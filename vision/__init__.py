"""splashaudit's pure analysis core: screenshots (and view hierarchies) in, typed results out.

No device, no network, no files written. The entry point is :func:`analyze`.
"""

from vision.analyzer import analyze
from vision.rules import RuleProfile, load_rule_profile
from vision.types import (
    AdLabel, Box, CloseControl, Countdown, Display, Finding, JumpButton, PermissionPrompt,
    PurposeOverlay, ScreenAnalysis, ScreenKind, ShakeCue, TextLine,
)

__all__ = [
    "analyze", "RuleProfile", "load_rule_profile", "AdLabel", "Box", "CloseControl", "Countdown",
    "Display", "Finding", "JumpButton", "PermissionPrompt", "PurposeOverlay", "ScreenAnalysis",
    "ScreenKind", "ShakeCue", "TextLine",
]
