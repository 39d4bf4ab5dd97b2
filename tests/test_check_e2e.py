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
}


@pytest.fixture(scope="module")
def results(appium_server, fixture_apps, tmp_path_factory):
    """Each app checked once (slow: several cold launches each); tests below read the outcomes."""
    out = tmp_path_factory.mktemp("checks")
    profile, rules = load_profile("chromium-phone"), load_rule_profile()
    done = {}
    for app in [*EXPECTED, "no_ad"]:
        result = run_check(fixture_apps.url(app), profile, out / app, rules, appium_url=appium_server.url)
        done[app] = (result, json.loads((out / app / "result.json").read_text()), out / app)
    return done


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_fixture_app_gets_the_verdicts_its_behaviour_calls_for(results, app):
    result, data, _ = results[app]
    verdicts = {f["rule"]: f["verdict"] for f in data["findings"]}
    wanted = EXPECTED[app]
    assert {rule: verdicts.get(rule) for rule in wanted} == wanted, json.dumps(data["findings"], ensure_ascii=False)
    assert data["verdict"] == ("violation" if "violation" in wanted.values() else data["verdict"])
    assert result.exit_code == (1 if data["verdict"] == "violation" else 0)


def test_app_without_ads_has_no_violation_and_says_why(results):
    _, data, _ = results["no_ad"]
    assert data["findings"] and all(f["verdict"] == "inconclusive" for f in data["findings"])
    assert "no splash ad or pop-up appeared" in data["findings"][0]["message"]


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
