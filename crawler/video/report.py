"""The HTML report of `splashaudit timeline`: a strip along each recording's time axis (thumbnails,
the ad's span, every event and touch marked), the evidence frames annotated, the findings.

Everything drawn from the app (words read on screen) goes through jinja2's autoescaping; thumbnails
are inline ``data:`` images, evidence frames JPEG files beside ``index.html``.
"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
from PIL import ImageDraw

from crawler.reports import annotate, html
from crawler.video.judge import Recording

#: At most this many thumbnails along a strip, and evidence frames per recording.
STRIP_THUMBS, EVIDENCE_FRAMES = 36, 10
EVENT_LABELS = {"ad_start": "广告开始 ad start", "ad_end": "广告结束 ad end", "close_seen": "关闭控件 close",
                "countdown": "倒计时 countdown", "ad_label": "广告标识 label", "jump_button": "跳转按钮 jump button",
                "permission": "权限 permission", "left_app": "离开应用 left app", "ad_back": "广告再现 ad back",
                "touch": "触点 touch"}


def _pct(t_s: float, duration_s: float) -> float:
    return round(100 * min(max(t_s / duration_s, 0.0), 1.0), 2) if duration_s > 0 else 0.0


def _strip(recording: Recording) -> dict:
    walk, duration = recording.walk, max(recording.walk.end_s, 0.001)
    step = max(1, -(-len(walk.strip) // STRIP_THUMBS))
    thumbs = [{"left": _pct(t, duration), "t_s": round(t, 2),
               "src": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")}
              for t, jpeg in walk.strip[::step]]
    spans, start = [], None
    for frame in recording.observe.frames:
        if frame.is_ad and start is None:
            start = frame.t_s
        elif not frame.is_ad and start is not None:
            spans.append({"left": _pct(start, duration), "width": _pct(frame.t_s - start, duration)})
            start = None
    if start is not None:
        spans.append({"left": _pct(start, duration), "width": _pct(duration - start, duration)})
    events = [{"left": _pct(e.t_s, duration), "t_s": e.t_s, "what": EVENT_LABELS.get(e.what, e.what),
               "kind": e.what, "detail": e.detail} for e in recording.observe.events if e.what != "launch"]
    return {"duration_s": round(duration, 2), "thumbs": thumbs, "spans": spans, "events": events}


def _evidence_frames(recording: Recording, findings: list[dict]) -> list:
    """The frames the findings rest on, then the frames around each touch, then the first ad frame."""
    named = set()
    for f in findings:
        ev = f["evidence"]
        named.update(v for k, v in ev.items() if k in ("frame", "close_frame") and isinstance(v, str))
        action = ev.get("action") or {}
        if isinstance(action, dict) and "before" in action:
            named.add(f"{action['before']['t_s']:.3f} s")
    frames = [f for f in recording.walk.frames if f.file in named]
    for launch in recording.touch_launches:
        frames += [f for f in launch.frames if f.keep in ("before tap", "after tap")]
    frames += recording.observe.ad_frames[:1]
    seen, out = set(), []
    for frame in sorted(frames, key=lambda f: f.t_s):
        if frame.file and frame.file not in seen and frame.image:
            seen.add(frame.file)
            out.append(frame)
    return out[:EVIDENCE_FRAMES]


def _save_frame(frame, touches: list[dict], path: Path) -> None:
    image = cv2.imdecode(np.frombuffer(frame.image, np.uint8), cv2.IMREAD_COLOR)
    picture = annotate.annotate(image, frame.analysis)
    draw = ImageDraw.Draw(picture)
    for touch in touches:               # the touches made while (or right after) this frame showed
        if -0.2 <= touch["t_s"] - frame.t_s <= 1.5:
            r = max(12, picture.width // 30)
            x, y = touch["x_px"], touch["y_px"]
            draw.ellipse([x - r, y - r, x + r, y + r], outline=(255, 23, 68), width=max(3, r // 4))
    width = 360
    picture = picture.resize((width, round(picture.height * width / picture.width)))
    picture.save(path, quality=85)


def section(report_dir: Path, number: int, recordings: list[Recording], entry: dict) -> dict:
    """One judged unit of the page; its evidence frames written to ``report_dir``."""
    report_dir.mkdir(parents=True, exist_ok=True)
    videos = []
    for i, recording in enumerate(recordings, start=1):
        frames = []
        for frame in _evidence_frames(recording, entry["findings"]):
            name = f"{number:03d}-{i}-{frame.t_s:08.3f}s.jpg"
            _save_frame(frame, recording.touches, report_dir / name)
            frames.append({"file": name, "t_s": round(frame.t_s, 3), "kind": frame.kind,
                           "why": frame.keep or ("ad" if frame.is_ad else frame.kind)})
        videos.append({"name": recording.name, "strip": _strip(recording), "frames": frames,
                       "touches": recording.touches, "cut": recording.walk.cut})
    return {"number": number, "verdict": entry["verdict"], "findings": entry["findings"], "videos": videos}


def write_index(report_dir: Path, entries: list[dict], sections: list[dict]) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    errors = [e for e in entries if "error" in e]
    counts = {v: sum(e.get("verdict") == v for e in entries) for v in ("violation", "warning", "pass")}
    return html.write_page(report_dir / "index.html", "timeline_report.html", sections=sections,
                           errors=errors, counts=counts, judged=len(entries) - len(errors))
