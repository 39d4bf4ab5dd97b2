"""Plain-data forms of analysis results, for JSON files and HTML reports."""

from __future__ import annotations

from vision.types import Box, CloseControl, Finding, ScreenAnalysis, ShakeCue


def _box(box: Box | None) -> list[int] | None:
    return box.to_list() if box is not None else None


def _pair(value) -> list | None:
    return list(value) if value is not None else None


def control_dict(control: CloseControl) -> dict:
    return {
        "bbox": control.box.to_list(), "text": control.text, "kind": control.kind,
        "size_dp": _pair(control.size_dp), "size_mm": _pair(control.size_mm),
        "contrast_ratio": control.contrast_ratio, "confidence": round(control.confidence, 3),
        "edge_distance_dp": control.position.edge_distance_dp if control.position else None,
        "in_status_bar": control.position.in_status_bar if control.position else None,
        "in_gesture_bar": control.position.in_gesture_bar if control.position else None,
        "touch_bbox": _box(control.touch_box), "touch_size_dp": _pair(control.touch_size_dp),
        "source": control.source,
    }


def shake_dict(cue: ShakeCue | None) -> dict | None:
    if cue is None:
        return None
    return {"bbox": cue.box.to_list(), "text": cue.text, "result_text": cue.result_text,
            "result_bbox": _box(cue.result_box)}


def finding_dict(finding: Finding) -> dict:
    return {"rule": finding.rule, "verdict": finding.verdict, "message": finding.message,
            "evidence": finding.evidence}


def analysis_dict(image: str, analysis: ScreenAnalysis) -> dict:
    """The JSON object ``splashaudit analyze --json`` writes for one image."""
    perm = analysis.permission
    return {
        "image": image,
        "size_px": list(analysis.size_px),
        "density": analysis.density,
        "screen": {"kind": analysis.screen.kind, "confidence": analysis.screen.confidence,
                   "reasons": analysis.screen.reasons},
        "verdict": analysis.verdict,
        "close_controls": [control_dict(c) for c in analysis.close_controls],
        "countdown": None if analysis.countdown is None else {
            "bbox": analysis.countdown.box.to_list(), "seconds": analysis.countdown.seconds,
            "text": analysis.countdown.text},
        "ad_label": None if analysis.ad_label is None else {
            "bbox": analysis.ad_label.box.to_list(), "text": analysis.ad_label.text,
            "height_dp": analysis.ad_label.height_dp, "contrast_ratio": analysis.ad_label.contrast_ratio},
        "jump_buttons": [{"bbox": j.box.to_list(), "text": j.text} for j in analysis.jump_buttons],
        "permission": None if perm is None else {
            "kind": perm.kind, "bbox": perm.box.to_list(), "text": perm.text,
            "purpose_overlay": None if perm.purpose_overlay is None else {
                "bbox": perm.purpose_overlay.box.to_list(), "text": perm.purpose_overlay.text}},
        "card": _box(analysis.card),
        "shake": shake_dict(analysis.shake),
        "findings": [finding_dict(f) for f in analysis.findings],
        "texts": [{"bbox": t.box.to_list(), "text": t.text, "confidence": t.confidence}
                  for t in analysis.texts],
        "notes": analysis.notes,
        "timings_ms": analysis.timings_ms,
    }


def error_dict(image: str, reason: str) -> dict:
    return {"image": image, "error": reason}
