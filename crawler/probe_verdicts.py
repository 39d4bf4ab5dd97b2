"""From recorded launches to one finding per rule, each with the frame and numbers behind it."""

from __future__ import annotations

from dataclasses import replace

from crawler.probes import Launch
from crawler.watch import Frame
from vision.rules import RuleProfile
from vision.types import Finding
from vision.verdicts import finding

AD_RULES = ("CLOSE_PRESENT", "CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "CLOSE_EFFECTIVE",
            "FULLSCREEN_JUMP", "AD_LABEL")
FRAME_RULES = ("CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "AD_LABEL")


def _with_frame(f: Finding, frame: Frame) -> Finding:
    return replace(f, evidence={**f.evidence, "frame": frame.file, "t_s": frame.t_s})


def key_frame(launches: list[Launch]) -> Frame | None:
    """The frame the per-frame rules are judged on: the first ad frame that shows a close control."""
    ad_frames = [f for launch in launches for f in launch.ad_frames]
    with_close = [f for f in ad_frames if f.analysis.close_controls]
    return (with_close or ad_frames or [None])[0]


def close_present(observe: Launch, rules: RuleProfile) -> Finding:
    max_delay_s = rules["CLOSE_PRESENT"]["max_delay_s"]
    ads = observe.ad_frames
    first_close = next((f for f in ads if f.analysis.close_controls), None)
    evidence = dict(ad_start_s=ads[0].t_s, frame=ads[0].file, max_delay_s=max_delay_s)
    if first_close is None:
        return finding(rules, "CLOSE_PRESENT", "violation", "广告展示全程未出现关闭/跳过控件",
                       "no close or skip control appeared while the ad was shown", **evidence)
    delay_s = round(first_close.t_s - ads[0].t_s, 2)
    evidence.update(close_seen_s=first_close.t_s, delay_s=delay_s, close_frame=first_close.file)
    if delay_s > max_delay_s:
        return finding(rules, "CLOSE_PRESENT", "violation",
                       f"关闭控件在广告出现 {delay_s:.1f} s 后才出现（上限 {max_delay_s:g} s）",
                       f"close control appeared {delay_s:.1f} s after the ad (limit {max_delay_s:g} s)",
                       **evidence)
    return finding(rules, "CLOSE_PRESENT", "pass", f"关闭控件在广告出现后 {delay_s:.1f} s 内可见",
                   f"close control visible {delay_s:.1f} s after the ad appeared", **evidence)


def close_effective(launch: Launch, rules: RuleProfile) -> Finding:
    evidence = dict(launch=launch.index, action=launch.action, outcome=launch.outcome,
                    frames=[f.file for f in launch.frames if f.file])
    if launch.error:
        return finding(rules, "CLOSE_EFFECTIVE", "inconclusive", f"设备出错：{launch.error}",
                       f"device error: {launch.error}", **evidence)
    if launch.action is None:
        return finding(rules, "CLOSE_EFFECTIVE", "inconclusive", f"未能点击关闭控件：{launch.outcome}",
                       f"could not tap a close control: {launch.outcome}", **evidence)
    if launch.outcome.startswith("dismissed"):
        return finding(rules, "CLOSE_EFFECTIVE", "pass", f"点击一次即关闭：{launch.outcome}",
                       f"one tap closed it: {launch.outcome}", **evidence)
    return finding(rules, "CLOSE_EFFECTIVE", "violation", f"关闭无效：{launch.outcome}",
                   f"close did not work: {launch.outcome}", **evidence)


def fullscreen_jump(body_launches: list[Launch], rules: RuleProfile) -> Finding:
    tapped = [l for l in body_launches if l.action is not None and not l.error]
    jumped = [l for l in tapped if l.outcome.startswith("jump")]
    evidence = dict(points=[l.action for l in tapped], jumped=[l.outcome for l in jumped],
                    probed=len(tapped), hot_zone_fraction=round(len(jumped) / len(tapped), 2) if tapped else None)
    if not tapped:
        reasons = "; ".join(sorted({l.error or l.outcome for l in body_launches})) or "no body tap"
        return finding(rules, "FULLSCREEN_JUMP", "inconclusive", f"未能点击广告主体：{reasons}",
                       f"no body tap delivered: {reasons}", **evidence)
    fraction = len(jumped) / len(tapped)
    if fraction > rules["FULLSCREEN_JUMP"]["max_jump_fraction"]:
        return finding(rules, "FULLSCREEN_JUMP", "violation",
                       f"点击广告主体 {len(jumped)}/{len(tapped)} 处发生跳转",
                       f"{len(jumped)} of {len(tapped)} body taps jumped away", **evidence)
    return finding(rules, "FULLSCREEN_JUMP", "pass", f"点击广告主体 {len(tapped)} 处均未跳转",
                   f"none of {len(tapped)} body taps jumped", **evidence)


def _permission_findings(launches: list[Launch]) -> list[Finding]:
    seen, found = set(), []
    for launch in launches:
        for frame in launch.frames:
            for f in frame.analysis.findings:
                kind = frame.analysis.permission.kind if frame.analysis.permission else None
                if f.rule == "PERMISSION_PURPOSE" and kind not in seen:
                    seen.add(kind)
                    found.append(_with_frame(f, frame))
    return found


def judge_launches(launches: list[Launch], rules: RuleProfile) -> list[Finding]:
    """One finding per rule that the probes could speak to."""
    observe = next((l for l in launches if l.kind == "observe"), None)
    frame = key_frame(launches)
    findings: list[Finding] = []
    if frame is None:
        reason = f"no splash ad or pop-up appeared in {len(launches)} launches"
        findings += [finding(rules, rule, "inconclusive", f"{len(launches)} 次启动均未出现开屏广告或弹窗",
                             reason, launches=len(launches)) for rule in AD_RULES]
    else:
        if observe is not None and observe.ad_frames:
            findings.append(close_present(observe, rules))
        else:
            findings += [_with_frame(f, frame) for f in frame.analysis.findings
                         if f.rule == "CLOSE_PRESENT"]
        findings += [_with_frame(f, frame) for f in frame.analysis.findings if f.rule in FRAME_RULES]
        close = next((l for l in launches if l.kind == "close"), None)
        if close is not None:
            findings.append(close_effective(close, rules))
        body = [l for l in launches if l.kind == "body_tap"]
        if body:
            findings.append(fullscreen_jump(body, rules))
    return findings + _permission_findings(launches)


#: The probe each rule needs a finished launch of; the other ad rules are judged on any ad frame.
PROBE_OF = {"CLOSE_PRESENT": "observe", "CLOSE_EFFECTIVE": "close", "FULLSCREEN_JUMP": "body_tap"}


def _not_probed(rules: RuleProfile, rule: str, reason: str) -> Finding:
    return finding(rules, rule, "inconclusive", f"未完成检测：{reason}", f"not probed: {reason}",
                   not_probed=reason)


def unprobed_findings(rules: RuleProfile, reason: str) -> list[Finding]:
    """Every ad rule inconclusive for ``reason`` (no launch ran at all)."""
    return [_not_probed(rules, rule, reason) for rule in AD_RULES]


def mark_unprobed(findings: list[Finding], launches: list[Launch], planned: list[str], rules: RuleProfile,
                  stopped: str | None) -> list[Finding]:
    """``findings`` made honest about what did not run, so that no rule passes (or fails) unprobed.

    A rule whose probe has no launch that finished (device lost, app crashed, never reached) is
    inconclusive with the reason. When the check ``stopped`` before its plan ran out, ad rules it
    never reached are inconclusive too, and so is FULLSCREEN_JUMP's pass on fewer body taps than planned.
    """
    no_ad = key_frame(launches) is None
    replaced: dict[str, Finding] = {}
    for rule, kind in PROBE_OF.items():
        runs = [l for l in launches if l.kind == kind]
        finished = [l for l in runs if not l.error]
        reason = next((l.error if f"launch {l.index} " in l.error else f"launch {l.index} ({kind}): {l.error}"
                       for l in runs if l.error), stopped)
        current = next((f for f in findings if f.rule == rule), None)
        short = bool(stopped) and len(finished) < planned.count(kind) and current is not None \
            and current.verdict == "pass"
        if reason and (not finished or (no_ad and stopped) or short):
            replaced[rule] = _not_probed(rules, rule, reason)
    if stopped and no_ad:
        replaced.update({rule: _not_probed(rules, rule, stopped) for rule in AD_RULES if rule not in PROBE_OF})
    kept, seen = [], set()
    for f in findings:
        if f.rule not in replaced:
            kept.append(f)
        elif f.rule not in seen:
            kept.append(replaced[f.rule])
            seen.add(f.rule)
    return kept + [f for rule, f in replaced.items() if rule not in seen]
