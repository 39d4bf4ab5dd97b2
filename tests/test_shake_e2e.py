"""SHAKE_JUMP end to end: a real Appium server, real headless Chromium fed motion through DevTools.

The three shake fixture apps (fixtures/apps/README.md) read ``devicemotion`` as real H5 shake ads do;
the checker plays its motion profiles on each (one launch per profile: picking the phone up, a 20°
tilt, walking, then a shake past the T/TAF floor) and must give the verdict each behaviour calls for,
with the motions as played and the frames before and after each in result.json and the report.
"""

import json

import pytest

from crawler.check_cmd import run_check
from crawler.live.motion import PROFILES
from crawler.profiles import load_profile
from vision.rules import load_rule_profile

EXPECTED = {"shake_sensitive": "violation", "shake_compliant": "pass", "shake_no_result": "warning"}
GENTLE = [p.name for p in PROFILES if p.gentle]


@pytest.fixture(scope="module")
def checked(appium_server, fixture_apps, tmp_path_factory):
    """Each shake app checked once with the shake probe alone (one launch per motion profile)."""
    out = tmp_path_factory.mktemp("shake")
    done = {}
    for app in EXPECTED:
        result = run_check(fixture_apps.url(app), load_profile("chromium-phone"), out / app, load_rule_profile(),
                           appium_url=appium_server.url, kinds=("shake",))
        data = json.loads((out / app / "result.json").read_text())
        done[app] = (result, data, out / app, next(f for f in data["findings"] if f["rule"] == "SHAKE_JUMP"))
    return done


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_each_shake_app_gets_the_shake_verdict_its_behaviour_calls_for(checked, app):
    result, data, _, shake = checked[app]
    assert shake["verdict"] == EXPECTED[app], json.dumps(shake, ensure_ascii=False, indent=1)
    assert data["complete"] and data["device"]["motion_input"].startswith("DevTools sensor overrides")
    assert result.exit_code == (1 if EXPECTED[app] == "violation" else 0)


def test_the_sensitive_ad_jumps_on_a_motion_below_the_floor_and_the_rest_is_not_played(checked):
    _, data, _, shake = checked["shake_sensitive"]
    jumped = [p for p in shake["evidence"]["profiles"] if p["jumped"] and p["below_floor"]]
    assert jumped and jumped[0]["jump_frame"], shake
    # Once proven, the motions left cannot change the verdict: not played.
    assert data["launches"][-1]["index"] == jumped[0]["launch"]


def test_the_compliant_ad_ignores_every_gentle_motion_and_jumps_only_on_the_full_shake(checked):
    _, _, _, shake = checked["shake_compliant"]
    profiles = {p["profile"]: p for p in shake["evidence"]["profiles"]}
    assert [name for name in GENTLE if profiles[name]["jumped"] is False] == GENTLE
    full = profiles["shake"]
    assert full["jumped"] is True and full["below_floor"] == [], full
    assert full["played"]["peak_linear_ms2"] >= 15 and full["played"]["rotation_deg"] >= 35
    assert full["played"]["motion_s"] >= 3


def test_a_cue_without_its_result_is_a_warning_naming_the_cue(checked):
    _, _, _, shake = checked["shake_no_result"]
    assert shake["evidence"]["cue"]["text"] == "摇一摇" and shake["evidence"]["cue"]["result_text"] is None
    assert "does not say what shaking does" in shake["message"]
    assert checked["shake_compliant"][3]["evidence"]["cue"]["result_text"] == "跳转详情页或第三方应用"


def test_profiles_and_before_after_frames_are_in_result_json_and_the_report(checked):
    for app, (_, data, folder, shake) in checked.items():
        report = (folder / "report.html").read_text()
        assert 'id="shake"' in report
        decided = [p for p in shake["evidence"]["profiles"] if p["jumped"] is not None]
        assert decided, shake
        for profile in decided:
            played = profile["played"]
            assert played["readings"] >= 5 and played["rate_hz"] > 0, profile
            for key in ("before_frame", "after_frame"):
                assert profile[key] and (folder / profile[key]).is_file(), (app, profile)
                assert profile[key] in report
            assert profile["profile"] in report
        motions = [l for l in data["launches"] if l["kind"] == "shake" and l["action"]]
        assert motions and all(l["action"]["type"] == "shake" and l["action"]["played"] for l in motions)
        assert {p["launch"] for p in decided} <= {l["index"] for l in motions if l["action"]["before"]["shows_ad"]}


_FIRST_MOTION = """
const done = arguments[arguments.length - 1], seen = [];
window.addEventListener('devicemotion', e => { const a = e.accelerationIncludingGravity;
  if (a && a.x !== null) seen.push([a.x, a.y, a.z, e.rotationRate && e.rotationRate.alpha]); });
setTimeout(() => done(seen), 400);
"""


def test_the_chromium_phone_feeds_devicemotion_from_the_page_load_only_when_armed(web_device, fixture_apps):
    from crawler.live.motion import PROFILE_BY_NAME, REST

    web_device.motion_arm(REST)
    try:
        web_device.cold_launch(fixture_apps.url("no_ad"))
        seen = web_device.driver.execute_async_script(_FIRST_MOTION)
        assert len(seen) >= 10 and seen[0][:3] == pytest.approx(REST.accel, abs=0.11)     # ~60 a second
        tilted = PROFILE_BY_NAME["tilt"].at_rest()
        web_device.motion_set(tilted)
        assert web_device.driver.execute_async_script(_FIRST_MOTION)[-1][:3] == pytest.approx(tilted.accel, abs=0.11)
    finally:
        web_device.motion_disarm()      # the session's phone is shared: leave it without sensors
    web_device.cold_launch(fixture_apps.url("no_ad"))
    assert web_device.driver.execute_async_script(_FIRST_MOTION) == []
