"""Judging one screen against the rules a single frame can decide.

CLOSE_PRESENT, CLOSE_SIZE, CLOSE_CONTRAST, CLOSE_POSITION, AD_LABEL and PERMISSION_PURPOSE, and of
SHAKE_JUMP what a picture can say: whether a shake cue states what shaking does. Where a
screen offers several close controls, a rule passes when at least one control passes it: a person needs
one good way out. Every finding carries its numbers, the threshold and the clause it rests on.
"""

from __future__ import annotations

from vision import lexicon
from vision.rules import RuleProfile
from vision.types import VERDICT_ORDER, CloseControl, Finding, ScreenAnalysis, Verdict

_VERDICT_ZH = {"violation": "违规", "warning": "警告", "pass": "通过", "inconclusive": "无法判定"}


def finding(rules: RuleProfile, rule: str, verdict: Verdict, zh: str, en: str, **evidence) -> Finding:
    """A finding whose message names the rule, the verdict and the clause, in Chinese and English."""
    spec = rules[rule]
    message = f"{rule} {_VERDICT_ZH[verdict]}：{zh} / {verdict}: {en} [{spec.clause}]"
    return Finding(rule, verdict, message, {**evidence, "clause": spec.clause})


def _best(findings: list[Finding]) -> Finding:
    """The most favourable of several controls' findings: one good way out is enough."""
    return min(findings, key=lambda f: VERDICT_ORDER.index(f.verdict))


def _size(control: CloseControl, rules: RuleProfile) -> Finding:
    spec = rules["CLOSE_SIZE"]
    if control.size_dp is None:
        return finding(rules, "CLOSE_SIZE", "inconclusive", "屏幕密度未知，无法换算 dp",
                       "screen density unknown, cannot convert to dp", bbox=control.box.to_list())
    visible_dp = min(control.size_dp)
    touch_dp = min(control.touch_size_dp) if control.touch_size_dp else None
    evidence = dict(bbox=control.box.to_list(), size_dp=list(control.size_dp),
                    size_mm=list(control.size_mm) if control.size_mm else None,
                    touch_size_dp=list(control.touch_size_dp) if control.touch_size_dp else None,
                    threshold_dp={k: v for k, v in spec.params.items()})
    if visible_dp < spec["visible_violation_dp"] or (touch_dp and touch_dp < spec["touch_violation_dp"]):
        verdict = "violation"
    elif visible_dp < spec["visible_warning_dp"] or (touch_dp and touch_dp < spec["touch_warning_dp"]):
        verdict = "warning"
    else:
        verdict = "pass"
    touch = f"，触控区 {touch_dp:.0f} dp" if touch_dp else ""
    touch_en = f", touch target {touch_dp:.0f} dp" if touch_dp else ""
    return finding(rules, "CLOSE_SIZE", verdict,
                   f"关闭控件“{control.text}”可见尺寸短边 {visible_dp:.1f} dp{touch}",
                   f"close control '{control.text}' visible shorter side {visible_dp:.1f} dp{touch_en}",
                   **evidence)


def _contrast(control: CloseControl, rules: RuleProfile) -> Finding:
    spec = rules["CLOSE_CONTRAST"]
    ratio = control.contrast_ratio
    if ratio is None:
        return finding(rules, "CLOSE_CONTRAST", "inconclusive", "控件区域颜色单一，无法评估对比度",
                       "control area is uniform, contrast not evaluated", bbox=control.box.to_list())
    if ratio < spec["violation_ratio"]:
        verdict = "violation"
    elif control.kind == "text" and ratio < spec["text_warning_ratio"]:
        verdict = "warning"
    else:
        verdict = "pass"
    return finding(rules, "CLOSE_CONTRAST", verdict,
                   f"关闭控件“{control.text}”对比度 {ratio:.2f}:1",
                   f"close control '{control.text}' contrast {ratio:.2f}:1",
                   bbox=control.box.to_list(), contrast_ratio=ratio,
                   threshold_ratio=spec["violation_ratio"], text_warning_ratio=spec["text_warning_ratio"])


def _position(control: CloseControl, rules: RuleProfile) -> Finding:
    spec = rules["CLOSE_POSITION"]
    pos = control.position
    if pos is None:
        return finding(rules, "CLOSE_POSITION", "inconclusive", "屏幕密度未知",
                       "screen density unknown", bbox=control.box.to_list())
    nearest = min(pos.edge_distance_dp.values())
    problems = []
    if pos.in_status_bar:
        problems.append(("位于状态栏内", "inside the status bar"))
    if pos.in_gesture_bar:
        problems.append(("位于手势/导航栏内", "inside the gesture/navigation bar"))
    if nearest < spec["min_edge_dp"]:
        problems.append((f"距屏幕边缘仅 {nearest:.1f} dp", f"only {nearest:.1f} dp from the screen edge"))
    verdict = "violation" if problems else "pass"
    zh = "；".join(p[0] for p in problems) or f"距边缘最近 {nearest:.1f} dp"
    en = "; ".join(p[1] for p in problems) or f"nearest edge {nearest:.1f} dp away"
    return finding(rules, "CLOSE_POSITION", verdict, f"关闭控件“{control.text}”{zh}",
                   f"close control '{control.text}' {en}", bbox=control.box.to_list(),
                   edge_distance_dp=pos.edge_distance_dp, in_status_bar=pos.in_status_bar,
                   in_gesture_bar=pos.in_gesture_bar, min_edge_dp=spec["min_edge_dp"])


#: A screen with no close control and no ad cue is called a pop-up by a judgement alone (a card, the
#: words of a dialog); it is accused only when that judgement is this sure (calibrated: right this often).
SURE_SCREEN_KIND = 0.9


def _unsure_overlay(analysis: ScreenAnalysis, rules: RuleProfile) -> Finding | None:
    """``inconclusive`` for a screen not surely an ad or pop-up that shows no way out: an ordinary page
    taken for a pop-up must not be accused of having no close control."""
    cued = analysis.countdown or analysis.ad_label or analysis.jump_buttons
    confidence = analysis.screen.confidence
    if cued or confidence >= SURE_SCREEN_KIND:
        return None
    return finding(rules, "CLOSE_PRESENT", "inconclusive",
                   f"未发现关闭控件，但无法确定这是弹窗或广告（置信度 {confidence:.2f}）",
                   f"no close control found, but the screen is not surely a pop-up or ad "
                   f"(confidence {confidence:.2f}, under {SURE_SCREEN_KIND})", screen_confidence=confidence)


def _close_findings(analysis: ScreenAnalysis, rules: RuleProfile) -> list[Finding]:
    controls = analysis.close_controls
    if not controls and (unsure := _unsure_overlay(analysis, rules)) is not None:
        return [unsure]
    if not controls:
        what = "仅有倒计时" if analysis.countdown else "未发现"
        return [finding(rules, "CLOSE_PRESENT", "violation",
                        f"{what}关闭/跳过控件", "no close or skip control on this screen"
                        + (" (countdown only)" if analysis.countdown else ""),
                        countdown=analysis.countdown.seconds if analysis.countdown else None)]
    found = [finding(rules, "CLOSE_PRESENT", "pass", f"发现关闭控件“{controls[0].text}”",
                     f"close control '{controls[0].text}' found", bbox=controls[0].box.to_list())]
    for judge in (_size, _contrast, _position):
        found.append(_best([judge(c, rules) for c in controls]))
    return found


def _ad_label_finding(analysis: ScreenAnalysis, rules: RuleProfile) -> Finding | None:
    is_ad = (analysis.screen.kind == "splash_ad" or analysis.ad_label is not None
             or any(lexicon.external_jump(j.text) for j in analysis.jump_buttons))
    if not is_ad:
        return None   # an app's own pop-up (update, rating, its own coupon) is not an ad: no label due
    label, spec = analysis.ad_label, rules["AD_LABEL"]
    if label is None:
        return finding(rules, "AD_LABEL", "violation", "广告未标明“广告”字样", "ad carries no ad label")
    small = label.height_dp is not None and label.height_dp < spec["min_height_dp"]
    faint = label.contrast_ratio is not None and label.contrast_ratio < spec["min_contrast_ratio"]
    verdict = "warning" if small or faint else "pass"
    height = f"{label.height_dp:.1f} dp" if label.height_dp is not None else "? dp"
    ratio = f"{label.contrast_ratio:.2f}:1" if label.contrast_ratio is not None else "?"
    return finding(rules, "AD_LABEL", verdict, f"广告标识“{label.text}”高 {height}，对比度 {ratio}",
                   f"ad label '{label.text}' {height} high, contrast {ratio}",
                   bbox=label.box.to_list(), height_dp=label.height_dp,
                   contrast_ratio=label.contrast_ratio, min_height_dp=spec["min_height_dp"],
                   min_contrast_ratio=spec["min_contrast_ratio"])


def _permission_finding(analysis: ScreenAnalysis, rules: RuleProfile) -> Finding | None:
    prompt = analysis.permission
    if prompt is None:
        return None
    if prompt.purpose_overlay is not None:
        return finding(rules, "PERMISSION_PURPOSE", "pass",
                       f"申请{prompt.kind}权限时同步说明了目的：“{prompt.purpose_overlay.text}”",
                       f"{prompt.kind} request shown with a purpose: '{prompt.purpose_overlay.text}'",
                       permission=prompt.kind, bbox=prompt.box.to_list(),
                       overlay_bbox=prompt.purpose_overlay.box.to_list())
    return finding(rules, "PERMISSION_PURPOSE", "violation",
                   f"申请{prompt.kind}权限时未同步告知使用目的",
                   f"{prompt.kind} requested with no overlay stating the purpose",
                   permission=prompt.kind, bbox=prompt.box.to_list())


def shake_cue_finding(analysis: ScreenAnalysis, rules: RuleProfile) -> Finding | None:
    """SHAKE_JUMP as far as one frame can tell: a cue without its result is a warning; with it,
    whether a gentle motion already jumps is for a live check on a device that can be shaken."""
    cue = analysis.shake
    if cue is None:
        return None
    evidence = dict(cue_text=cue.text, cue_bbox=cue.box.to_list(), result_text=cue.result_text,
                    result_bbox=cue.result_box.to_list() if cue.result_box else None)
    if not cue.result_stated:
        return finding(rules, "SHAKE_JUMP", "warning", f"摇一摇提示“{cue.text}”未说明摇动后的结果（如跳转详情页或第三方应用）",
                       f"shake cue '{cue.text}' does not say what shaking does (e.g. opens a detail page or "
                       "another app)", **evidence)
    return finding(rules, "SHAKE_JUMP", "inconclusive",
                   f"摇一摇提示“{cue.text}”说明了结果“{cue.result_text}”；轻微晃动是否即跳转需在可输入传感器的设备上实测",
                   f"shake cue '{cue.text}' states its result '{cue.result_text}'; whether a gentle motion "
                   "already jumps needs a live check on a device that accepts motion input", **evidence)


def judge_screen(analysis: ScreenAnalysis, rules: RuleProfile) -> list[Finding]:
    """The findings one screenshot supports, given what the analyzer found on it."""
    findings: list[Finding] = []
    if analysis.screen.kind in ("splash_ad", "popup"):
        findings.extend(_close_findings(analysis, rules))
        if (label := _ad_label_finding(analysis, rules)) is not None:
            findings.append(label)
    if (purpose := _permission_finding(analysis, rules)) is not None:
        findings.append(purpose)
    if (shake := shake_cue_finding(analysis, rules)) is not None:
        findings.append(shake)
    return findings
