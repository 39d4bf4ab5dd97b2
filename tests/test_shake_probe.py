"""The shake probe's parts that need no browser: the motion profiles, the SHAKE_JUMP verdict over
recorded launches, the plan, and the Android and iOS adapters' motion input (against a fake driver).

tests/test_shake_e2e.py proves the whole probe on the Chromium phone through Appium. No Android
emulator or iPhone runs here: the fake driver stands in for Appium's, modelled on
appium-android-driver's ``sensorSet`` (lib/commands/device/emulator-actions.ts: refused unless
``isEmulator()``, i.e. an ``avd`` capability or a udid matching /\\bemulator\\b/) which runs appium-adb's
``adb emu sensor set <acceleration|gyroscope> x:y:z``.
"""

import pytest

from crawler.check_cmd import _after_shake, _planned_kinds, _shake_after_observe
from crawler.devices.android import AndroidDevice
from crawler.devices.base import DeviceError, Foreground, Jump
from crawler.devices.ios import IOSDevice
from crawler.live.motion import (PROFILE_BY_NAME, PROFILES, REST, below_floor, nominal, short_of_profile,
                                 summarise)
from crawler.probe_verdicts import MotionSetup, judge_launches, shake_jump
from crawler.probes import Launch, ProbeSettings
from crawler.profiles import load_profile
from crawler.watch import Frame
from fake_drivers import FakeUiAutomator2, FakeXCUITest
from vision.rules import load_rule_profile
from vision.types import Box, ScreenAnalysis, ScreenKind, ShakeCue

RULES = load_rule_profile()
SETTINGS = ProbeSettings()
FLOOR = (15.0, 35.0, 3.0)
APP = Foreground("web", "http://app/", "http://app:80")
LANDING = Foreground("web", "http://landing/", "http://landing:80")


def _played(name: str, hz: float = 40.0):
    profile = PROFILE_BY_NAME[name]
    times = [i / hz for i in range(int(profile.duration_s * hz) + 1)]
    return summarise(name, [(t, profile.reading(t)) for t in times], FLOOR[0])


@pytest.mark.parametrize("name", [p.name for p in PROFILES if p.gentle])
def test_every_gentle_motion_misses_the_floor_on_more_than_acceleration(name):
    short = below_floor(_played(name), *FLOOR)
    assert any(s.startswith(("rotation", "lasted")) for s in short), short


def test_the_full_shake_passes_the_floor_even_sent_coarsely():
    for hz in (40.0, 15.0):
        played = _played("shake", hz)
        assert below_floor(played, *FLOOR) == [], played
        assert played.peak_linear_ms2 >= 15 and played.rotation_deg >= 35 and played.motion_s >= 3


def test_a_wait_that_swallowed_a_swing_leaves_the_motion_short_of_its_profile():
    pickup = PROFILE_BY_NAME["pickup"]
    times = [t / 40 for t in range(21) if not 0.0 < t / 40 < 0.28]           # the rest held over the lift
    played = summarise("pickup", [(t, pickup.reading(t)) for t in times], 15.0)
    assert played.max_gap_s == pytest.approx(0.3) and played.held_share > 0.25
    assert "0 of its 1 swings" in short_of_profile(played)
    # Held at the lift's peak instead, the wait makes it harsher: only the turn it swallowed is missing.
    harsher = summarise("pickup", [(t, pickup.reading(t)) for t in [0.0, 0.025, *times[1:]]], 15.0)
    assert harsher.strong_held_s > played.strong_held_s and short_of_profile(harsher)[0].startswith("turn")
    assert [short_of_profile(_played(p.name, 20.0)) for p in PROFILES] == [[]] * len(PROFILES)
    assert [nominal(p.name).swings for p in PROFILES] == [1, 1, 11, 18]


def test_readings_carry_gravity_and_the_turn():
    rest = REST.accel
    assert abs(sum(c * c for c in rest) ** 0.5 - 9.81) < 1e-6
    tilt = PROFILE_BY_NAME["tilt"]
    assert tilt.at_rest().accel != rest and abs(sum(c * c for c in tilt.at_rest().accel) ** 0.5 - 9.81) < 1e-6
    assert _played("tilt").rotation_deg == pytest.approx(20, abs=1)
    pickup = PROFILE_BY_NAME["pickup"].reading(0.1)
    assert pickup.accel[1] > rest[1] and sum(c * c for c in pickup.linear) ** 0.5 == pytest.approx(10, abs=0.1)


# -- the verdict over recorded launches ---------------------------------------------------------

def _frame(t_s: float, ad: bool = True, jump: bool = False, cue: ShakeCue | None = None) -> Frame:
    analysis = ScreenAnalysis((1082, 2402), 2.625, ScreenKind("splash_ad" if ad else "normal", 0.9), shake=cue)
    return Frame(t_s, b"", analysis, LANDING if jump else APP,
                 Jump(True, "other_origin", "landing") if jump else None)


CUE = ShakeCue(Box(400, 1900, 250, 70), "摇一摇", "跳转详情页或第三方应用", Box(330, 1990, 400, 45))
BARE = ShakeCue(Box(400, 1900, 250, 70), "摇一摇")


def _shake_launch(index: int, name: str, jumped: bool, cue: ShakeCue = CUE, hz: float = 40.0) -> Launch:
    played = _played(name, hz)
    before = _frame(1.0, cue=cue)
    before.keep, before.file = "before motion", f"frames/b{index}.jpg"
    end = 1.1 + played.motion_s
    after = [_frame(end + 0.3, ad=not jumped, jump=jumped, cue=None if jumped else cue),
             _frame(end + 1.8, ad=not jumped, jump=jumped, cue=None if jumped else cue)]
    after[0].file = f"frames/a{index}.jpg"
    launch = Launch(index, "shake", frames=[before, *after], profile=name)
    launch.action = {"type": "shake", "target": name, "profile": name, "gentle": name != "shake",
                     "started_s": 1.1, "t_s": end, "played": played.to_dict(),
                     "below_floor": below_floor(played, *FLOOR),
                     "before": {"t_s": 1.0, "kind": "splash_ad", "shows_ad": True}}
    return launch


WEB = MotionSetup("DevTools sensor overrides", requested=True)


def test_a_jump_on_a_gentle_motion_is_a_violation_and_one_on_the_full_shake_is_allowed():
    gentle_jump = [_shake_launch(1, "pickup", jumped=True)]
    assert shake_jump(gentle_jump, RULES, SETTINGS, WEB).verdict == "violation"
    compliant = [_shake_launch(i, p.name, jumped=not p.gentle) for i, p in enumerate(PROFILES, start=1)]
    found = shake_jump(compliant, RULES, SETTINGS, WEB)
    assert found.verdict == "pass" and "jumped, as allowed" in found.message
    assert [p["before_frame"] for p in found.evidence["profiles"]] == [f"frames/b{i}.jpg" for i in range(1, 5)]


def test_a_motion_sent_too_coarsely_acquits_nothing():
    coarse = [_shake_launch(i, p.name, jumped=not p.gentle, hz=8.0) for i, p in enumerate(PROFILES, start=1)]
    found = shake_jump(coarse, RULES, SETTINGS, WEB)
    assert found.verdict == "inconclusive" and "too coarse" in found.message


def test_a_cue_without_its_result_is_a_warning_even_when_no_motion_jumped():
    quiet = [_shake_launch(i, p.name, jumped=False, cue=BARE) for i, p in enumerate(PROFILES, start=1)]
    assert shake_jump(quiet, RULES, SETTINGS, WEB).verdict == "warning"


@pytest.mark.parametrize("cue, verdict", [(CUE, "inconclusive"), (BARE, "warning")])
def test_a_device_that_cannot_be_shaken_is_never_a_pass(cue, verdict):
    observe = Launch(1, "observe", frames=[_frame(0.5, cue=cue)])
    cannot = MotionSetup(None, "this device cannot be shaken by the tool (a real Android phone)")
    found = next(f for f in judge_launches([observe], RULES, SETTINGS, cannot) if f.rule == "SHAKE_JUMP")
    assert found.verdict == verdict and "this device cannot be shaken by the tool" in found.message


def test_no_cue_and_no_shake_probe_says_nothing_of_shake_jump():
    observe = Launch(1, "observe", frames=[_frame(0.5)])
    assert not [f for f in judge_launches([observe], RULES, SETTINGS) if f.rule == "SHAKE_JUMP"]


def test_the_default_plan_shakes_after_an_observe_launch_that_saw_a_cue():
    saw, did_not = Launch(1, "observe", frames=[_frame(0.5, cue=BARE)]), Launch(1, "observe", frames=[_frame(0.5)])
    assert _shake_after_observe(saw, "auto", True) and not _shake_after_observe(did_not, "auto", True)
    assert _shake_after_observe(did_not, "always", True)
    assert not _shake_after_observe(saw, "never", True) and not _shake_after_observe(saw, "auto", False)
    assert _planned_kinds(("shake",), 5, True) == ["shake"] * len(PROFILES)
    assert _planned_kinds(("observe", "shake"), 5, False) == ["observe"]


# -- Android and iOS motion input ---------------------------------------------------------------

def test_an_android_emulator_takes_readings_through_mobile_sensor_set():
    driver = FakeUiAutomator2(capabilities={"platformName": "Android", "deviceUDID": "emulator-5554"})
    device = AndroidDevice(load_profile("android-1080x2400-2.625"), driver)
    assert "sensorSet" in device.motion_support()
    device.motion_arm(REST)
    device.motion_set(PROFILE_BY_NAME["pickup"].reading(0.1))
    sets = [c[1] for c in driver.calls if c[0] == "mobile: sensorSet"]
    assert [s["sensorType"] for s in sets] == ["acceleration", "gyroscope"] * 2
    assert sets[0]["value"] == "0.0000:8.4957:4.9050"          # x:y:z, as `adb emu sensor set` takes it


def test_a_real_android_phone_and_an_iphone_cannot_be_shaken():
    driver = FakeUiAutomator2(capabilities={"platformName": "Android", "deviceUDID": "R58M12ABCDE"})
    phone = AndroidDevice(load_profile("android-1080x2400-2.625"), driver)
    assert phone.motion_support() is None and "cannot be shaken by the tool" in phone.cannot_shake
    with pytest.raises(DeviceError, match="cannot be shaken"):
        phone.motion_arm(REST)
    assert not [c for c in driver.calls if c[0] == "mobile: sensorSet"] and not driver.sensors
    iphone = IOSDevice(load_profile("iphone-1179x2556-3"), FakeXCUITest())
    assert iphone.motion_support() is None and "cannot be shaken by the tool" in iphone.cannot_shake
    with pytest.raises(DeviceError):
        iphone.motion_set(REST)


class _Prober:
    settings = SETTINGS

    def shake(self, index, profile):
        return profile.name


def test_an_undecided_motion_is_played_once_more_and_a_proven_gentle_jump_ends_the_shaking():
    planned, plan, retried = ["shake"] * 4, [("shake", None)] * 4, set()
    coarse = _shake_launch(1, "pickup", jumped=False, hz=8.0)
    _after_shake(_Prober(), coarse, 1, planned, plan, retried)
    assert len(planned) == len(plan) == 5 and plan[1][1](2) == "pickup"
    _after_shake(_Prober(), coarse, 2, planned, plan, retried)            # once only
    assert len(plan) == 5
    _after_shake(_Prober(), _shake_launch(3, "tilt", jumped=True), 3, planned, plan, retried)
    assert len(planned) == len(plan) == 3
