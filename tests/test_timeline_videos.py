"""`splashaudit timeline` on screen recordings of the fixture apps: the live check's verdicts, from video.

The recordings were made on the Chromium phone by ``fixtures/record_videos.py`` (DevTools captures at
the phone's pixels, Android-style "show taps" dots for the taps a tester made) and are kept as an
archive of shared tiles (a video ad's frames whole); the MP4 files are built from it once
(``build/videos-HASH/``, about 8 s on a clean clone). Each app is judged from its recordings alone and must get what ``check`` gets live
(``tests/test_check_e2e.EXPECTED``), the late close dated within 0.2 s of when it was painted.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler import timeline_cmd
from conftest import COPIES
from crawler.profiles import load_profile
from test_check_e2e import CLOSE_SHOWN_S, EXPECTED
from vision.rules import load_rule_profile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))
import record_videos  # noqa: E402


def _order(take: str) -> int:
    """Recordings of one app in the order a tester makes them: watch, close, tap the body."""
    return 0 if take.endswith("observe") or "-" not in take else 1 if take.endswith("close") else 2


def _apps(takes: dict) -> dict[str, list[str]]:
    apps: dict[str, list[str]] = {}
    for name, take in takes.items():
        apps.setdefault(take["app"], []).append(name)
    return {app: sorted(names, key=_order) for app, names in apps.items()}


@pytest.fixture(scope="module")
def judged(fixture_videos, tmp_path_factory):
    """Every app judged from its recordings (several recordings of one app together, --same-app)."""
    folder, takes = fixture_videos
    profile, rules = load_profile("chromium-phone"), load_rule_profile()
    report_dir = tmp_path_factory.mktemp("timeline-report")
    out = {}
    for app, names in _apps(takes).items():
        paths = [str(folder / f"{n}.mp4") for n in names]
        run = timeline_cmd.run(paths, profile, None, rules, None, report_dir if app == "compliant" else None,
                               same_app=len(paths) > 1)
        assert run.errors == 0, run.entries
        out[app] = run
    return out, report_dir


def _verdicts(entry: dict) -> dict:
    return {f["rule"]: f["verdict"] for f in entry["findings"]}


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_every_recorded_app_gets_the_verdicts_its_live_check_gets(judged, app):
    run = judged[0][app]
    (entry,) = run.entries
    wanted = EXPECTED[app]
    assert {rule: _verdicts(entry).get(rule) for rule in wanted} == wanted, json.dumps(
        [entry["findings"], [v["timeline"] for v in entry["videos"]], [v["touches"] for v in entry["videos"]]],
        ensure_ascii=False)
    assert run.exit_code == (1 if "violation" in wanted.values() else run.exit_code)


@pytest.mark.parametrize("app", ["no_ad", "brand_splash"])
def test_a_recording_without_ads_has_no_violation_and_says_why(judged, app):
    (entry,) = judged[0][app].entries
    assert entry["findings"] and all(f["verdict"] == "inconclusive" for f in entry["findings"])
    assert "no splash ad or pop-up appeared" in entry["findings"][0]["message"]


def _shown(take: dict, kind: str) -> float:
    """When the recording first shows it (the frame before is at most 0.15 s earlier: the recorder
    records such a take again until it is; see fixtures/record_videos.py)."""
    return next(e["shown_s"] for e in take["events"] if e["type"] == kind)


def _close_delay_error_s(entry: dict, take: dict) -> float:
    present = next(f for f in entry["findings"] if f["rule"] == "CLOSE_PRESENT")
    shown_after_s = _shown(take, "close_shown") - _shown(take, "splash")
    return abs(present["evidence"]["delay_s"] - shown_after_s)


@pytest.mark.parametrize("app", sorted(CLOSE_SHOWN_S))
def test_a_late_close_is_placed_within_a_fifth_of_a_second_of_when_it_showed(judged, fixture_videos, app):
    (entry,) = judged[0][app].entries
    assert _close_delay_error_s(entry, fixture_videos[1][app]) <= 0.2, entry["findings"]


def test_the_timeline_holds_the_ad_its_controls_and_each_touch_with_what_followed(judged):
    (video,) = judged[0]["compliant"].entries[0]["videos"]
    whats = [e["what"] for e in video["timeline"]]
    for what in ("ad_start", "close_seen", "countdown", "ad_label", "jump_button", "ad_end", "touch"):
        assert what in whats, video["timeline"]
    assert [t["kind"] for t in video["touches"]] == ["body", "close"]
    assert "nothing changed" in video["touches"][0]["followed"] and "normal screen" in video["touches"][1]["followed"]
    repop = judged[0]["repop"].entries[0]["videos"][0]
    assert "ad_back" in [e["what"] for e in repop["timeline"]]
    jumped = judged[0]["fake_close"].entries[0]["videos"][0]
    assert "left_app" in [e["what"] for e in jumped["timeline"]]
    prompts = {app: [e["detail"] for e in judged[0][app].entries[0]["videos"][0]["timeline"] if e["what"] == "permission"]
               for app in ("permission_with_purpose", "permission_no_purpose")}
    assert "purpose: none" not in prompts["permission_with_purpose"][0]
    assert prompts["permission_no_purpose"][0].endswith("purpose: none")


def test_the_report_draws_the_strip_and_the_evidence_frames(judged):
    page = (judged[1] / "index.html").read_text()
    assert page.count('class="thumb"') >= 3 and 'class="span"' in page and "close_seen" in page
    frames = sorted(judged[1].glob("*.jpg"))
    assert frames and all(f.name in page for f in frames)


@pytest.mark.parametrize("take", COPIES)
def test_a_phones_720p_15fps_copy_gets_the_same_verdicts(fixture_videos, take):
    folder, takes = fixture_videos
    app = takes[take]["app"]
    run = timeline_cmd.run([str(folder / "720p" / f"{take}.mp4")], load_profile("chromium-phone"), None,
                           load_rule_profile(), None, None)
    (entry,) = run.entries
    assert entry["videos"][0]["size_px"][0] == 720
    wanted = {rule: v for rule, v in EXPECTED[app].items()
              if rule not in ("FULLSCREEN_JUMP",) or take.endswith("body")}
    assert {rule: _verdicts(entry).get(rule) for rule in wanted} == wanted, entry["findings"]
    if app in CLOSE_SHOWN_S:
        assert _close_delay_error_s(entry, takes[take]) <= 0.2, entry["findings"]


def test_a_constant_rate_recording_dates_a_fading_close_as_well(fixture_videos, tmp_path):
    """A recorder writing every frame (30 a second, the picture repeated while nothing changed) shows a
    fade as a run of changes: the pill is still dated by the frame that first shows it."""
    atlas, index = record_videos.load_archive()
    take = index["takes"]["fade_close"]
    frames = record_videos.take_frames(atlas, index, "fade_close")
    path = tmp_path / "fade_close-cfr.mp4"
    record_videos.write_constant_rate(record_videos.every_frame(take, frames, 30, 720, 2.625), path, 30)
    run = timeline_cmd.run([str(path)], load_profile("chromium-phone"), None, load_rule_profile(), None, None)
    (entry,) = run.entries
    assert entry["videos"][0]["frames"]["looked_at"] >= 30 * take["duration_s"]
    assert _verdicts(entry)["CLOSE_PRESENT"] == "violation"
    assert _close_delay_error_s(entry, fixture_videos[1]["fade_close"]) <= 0.2, entry["findings"]


def test_a_corrupt_and_a_truncated_recording_are_one_line_each_and_the_good_ones_judged(fixture_videos, tmp_path):
    folder, _ = fixture_videos
    good = [folder / "no_ad.mp4", folder / "permission_no_purpose.mp4"]
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good[1].read_bytes()[: good[1].stat().st_size * 2 // 3])
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "timeline", str(good[0]), str(corrupt),
                           str(truncated), str(good[1]), "--profile", "chromium-phone", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in proc.stderr
    assert str(corrupt) in lines[0] and str(truncated) in lines[1] and "truncated" in lines[1]
    entries = json.loads(out.read_text())
    assert [e.get("error") is None for e in entries] == [True, False, False, True]
    assert _verdicts(entries[3])["PERMISSION_PURPOSE"] == "violation"


def test_a_walk_past_its_memory_budget_stops_there_and_says_so(fixture_videos, tmp_path, monkeypatch, capsys):
    """A recording longer than one walk may hold (MAX_ANALYSED analyses) is judged up to where the
    budget ran out, and the JSON, the report and one line on stderr say so: memory stays bounded
    however long the video, and no part left unwalked passes for judged."""
    from crawler.video import walk
    folder, _ = fixture_videos
    monkeypatch.setattr(walk, "MAX_ANALYSED", 4)
    path = folder / "video_ad.mp4"          # a video ad: its picture changes in every frame
    run = timeline_cmd.run([str(path)], load_profile("chromium-phone"), None, load_rule_profile(),
                           tmp_path / "out.json", tmp_path / "report")
    (entry,) = json.loads((tmp_path / "out.json").read_text())
    video = entry["videos"][0]
    assert video["cut"] is not None and "4 frames analysed" in video["cut"]["why"], video["cut"]
    assert video["cut"]["at_s"] < 5.0 and video["duration_s"] <= video["cut"]["at_s"]
    assert video["frames"]["analysed"] + video["frames"]["countdown_reread"] <= 4
    assert entry["findings"] and run.errors == 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(path) in line and "judged up to" in line
    assert "judged up to" in (tmp_path / "report" / "index.html").read_text()


def test_a_walk_cut_while_an_ad_shows_does_not_accuse_it_of_having_no_close(fixture_videos, tmp_path, monkeypatch):
    """no_close's ad has no close control at all; cut by the budget while it shows, the walk cannot
    rule out a close coming later: CLOSE_PRESENT is inconclusive and says why."""
    from crawler.video import walk
    folder, _ = fixture_videos
    monkeypatch.setattr(walk, "MAX_ANALYSED", 3)
    run = timeline_cmd.run([str(folder / "no_close.mp4")], load_profile("chromium-phone"), None,
                           load_rule_profile(), None, None)
    (entry,) = run.entries
    assert entry["videos"][0]["cut"] is not None
    present = next(f for f in entry["findings"] if f["rule"] == "CLOSE_PRESENT")
    assert present["verdict"] == "inconclusive" and "while the ad still showed" in present["message"], present
