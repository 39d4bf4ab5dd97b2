"""Stub: replaced by the real pipeline."""
from __future__ import annotations
import numpy as np
from vision.types import Display, ScreenAnalysis, ScreenKind


def analyze(image_bgr: np.ndarray, display: Display, hierarchy_xml: str | None = None,
            rules=None) -> ScreenAnalysis:
    h, w = image_bgr.shape[:2]
    return ScreenAnalysis(size_px=(w, h), density=display.density, screen=ScreenKind("normal", 0.0))
