"""The Android and iOS adapters against fakes that behave as the real drivers document (tests/fake_drivers.py).

No phone or emulator runs here. Each fake behaviour names the driver source it comes from: errors
(terminateApp's timeout, a missing app), null packages, the two dumpsys calls behind package and
activity, WDA's idle wait, the launcher's intent, the bar sizes, the permission state, the MJPEG stream.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.devices import DeviceError, Foreground, detect_jump, open_device
from crawler.devices.android import AndroidDevice, android_capabilities
from crawler.devices.base import decode_png
from crawler.devices.faults import AppCrashed
from crawler.devices.ios import IOSDevice, ios_capabilities
from crawler.profiles import DeviceProfile, load_profile
from fake_drivers import LAUNCHER, FakeApp, FakeMjpegServer, FakeUiAutomator2, FakeXCUITest

SHOP = "com.example.shop"
SPLASH = Foreground("android", f"{SHOP}/.SplashActivity", SHOP, ".SplashActivity")   # the app, just launched
MAIN, LAUNCHER_CATEGORY = "android.intent.action.MAIN", "android.intent.category.LAUNCHER"


@pytest.fixture
def android_profile() -> DeviceProfile:
    return load_profile("android-1080x2400-2.625")


@pytest.fixture
def ios_profile() -> DeviceProfile:
    return load_profile("iphone-1179x2556-3")


def android(profile, **phone_kw) -> tuple[AndroidDevice, FakeUiAutomator2]:
    phone = FakeUiAutomator2([FakeApp(SHOP, granted=phone_kw.pop("granted", ()),
                                      user_fixed=phone_kw.pop("user_fixed", ()))], **phone_kw)
    return AndroidDevice(profile, phone), phone


def tap_action(calls_params: dict) -> dict:
    (source,) = [a for a in calls_params["actions"] if a["type"] == "pointer"]
    return source


# -- 1. driver errors are one line, never a traceback -------------------------------------------------
def test_launching_an_app_that_is_not_installed_is_one_line(android_profile, ios_profile):
    device, _ = android(android_profile)
    with pytest.raises(DeviceError, match=r"^com\.missing is not installed on the device \(Unable to resolve"):
        device.cold_launch("com.missing")
    with pytest.raises(DeviceError, match=r"^com\.missing is not installed on the device"):
        IOSDevice(ios_profile, FakeXCUITest()).cold_launch("com.missing")


def test_terminate_app_timing_out_is_a_device_error_of_that_launch(android_profile):
    device, phone = android(android_profile, stuck={SHOP})
    device.cold_launch(SHOP)                        # first launch: not running, nothing to stop
    with pytest.raises(DeviceError) as caught:
        device.cold_launch(SHOP)
    message = str(caught.value)
    assert "still running after 3000ms timeout" in message and "\n" not in message
    assert "An unknown server-side error" not in message      # Appium's preamble is dropped


def test_a_focus_the_driver_cannot_read_is_unknown_not_an_error(android_profile):
    device, phone = android(android_profile)
    device.cold_launch(SHOP)
    phone.pending = ["garbled"]        # appium-adb: "Could not retrieve the currently focused package..."
    now = device.foreground()
    assert not now.package and not now.jump_since(SPLASH)


def test_a_check_whose_app_is_missing_ends_with_result_error(appium_server, android_profile, tmp_path, monkeypatch):
    """Through run_check (real Appium for the server check, the fake phone behind the session)."""
    from crawler.check_cmd import run_check
    from vision.rules import load_rule_profile

    monkeypatch.setattr(AndroidDevice, "connect", classmethod(
        lambda cls, profile, url, **kw: cls(profile, FakeUiAutomator2([FakeApp(SHOP)]))))
    result = run_check("com.missing", android_profile, tmp_path, load_rule_profile(), appium_url=appium_server.url,
                       probes=3)
    assert result.exit_code == 3 and not result.complete
    assert "com.missing is not installed on the device" in result.error
    assert {f.verdict for f in result.findings} == {"inconclusive"}


# -- 2. no false jumps on Android --------------------------------------------------------------------
def test_a_null_focus_is_unknown_never_a_jump(android_profile):
    device, phone = android(android_profile)
    device.cold_launch(SHOP)
    for state in (None, "lockscreen"):        # a window transition; the keyguard (appium-adb: null package)
        phone.pending = [state]
        now = device.foreground()
        jump = now.jump_since(SPLASH)
        assert not now.package and not jump and jump.kind == "unknown", (state, jump)


def test_package_and_activity_come_from_one_look(android_profile):
    device, phone = android(android_profile)
    device.cold_launch(SHOP)
    store = ("com.android.vending", "com.google.android.finsky.activities.MainActivity")
    phone.pending = [(SHOP, ".SplashActivity"), store, (SHOP, ".SplashActivity"), store]
    seen = phone.dumpsys
    first, second = device.foreground(), device.foreground()
    assert phone.dumpsys - seen == 2                 # one dumpsys per look, not one per field
    assert (first.package, first.activity) == (SHOP, ".SplashActivity")
    assert (second.package, second.activity) == store


def test_without_adb_shell_only_the_package_is_read_in_one_call(android_profile):
    device, phone = android(android_profile, shell_allowed=False)
    device.cold_launch(SHOP)
    seen = phone.dumpsys
    now = device.foreground()
    assert (now.package, now.activity) == (SHOP, None) and phone.dumpsys - seen == 1


def test_the_launcher_still_in_front_after_a_launch_is_not_the_baseline(android_profile):
    """`am start-activity` returns before the app's window has focus: the launcher is still in front."""
    from crawler.probes import Launch, Prober
    from vision.rules import load_rule_profile

    device, phone = android(android_profile, launch_delay_looks=3)
    prober = Prober(device, SHOP, android_profile.display(), load_rule_profile())
    launch = Launch(1, "observe")
    prober._launch(launch)
    assert launch.foreground_before.package == SHOP
    assert not device.foreground().jump_since(launch.foreground_before)


def test_the_app_gone_from_the_front_is_a_crash_not_a_jump(android_profile):
    device, phone = android(android_profile)
    device.cold_launch(SHOP)
    phone.front = ("com.android.chrome", "com.google.android.apps.chrome.Main")   # app in the background
    assert device.foreground().jump_since(SPLASH).kind == "browser"
    phone.running.discard(SHOP)
    phone.front = LAUNCHER
    with pytest.raises(AppCrashed, match="com.example.shop is no longer running"):
        device.foreground()


# -- 3. iOS launches do not wait for the app to be idle -----------------------------------------------
def test_ios_launch_does_not_wait_for_a_busy_app(ios_profile):
    phone = FakeXCUITest(busy_s=5.0, capabilities=ios_capabilities(ios_profile))
    device = IOSDevice(ios_profile, phone)
    device.cold_launch(SHOP)
    names = [c[0] for c in phone.calls]
    assert "mobile: launchApp" in names and "mobile: activateApp" not in names
    assert phone.blocked_s == 0.0
    assert device.foreground().package == SHOP


def test_ios_launch_of_the_sessions_own_app_waits_briefly(ios_profile):
    caps = ios_capabilities(ios_profile, {"appium:bundleId": SHOP})      # WDA waits for its own app
    phone = FakeXCUITest(busy_s=5.0, capabilities=caps)
    IOSDevice(ios_profile, phone).cold_launch(SHOP)
    assert 0 < phone.blocked_s <= 0.5


# -- 4. Android launches as the launcher does ---------------------------------------------------------
def test_an_activity_is_started_with_the_launchers_intent_and_no_wait(android_profile):
    device, phone = android(android_profile)
    device.cold_launch(f"{SHOP}/.SplashActivity")
    cmd = phone.am[-1]
    assert "-W" not in cmd and cmd[:2] == ["am", "start-activity"]
    pairs = set(zip(cmd, cmd[1:]))
    assert {("-a", MAIN), ("-c", LAUNCHER_CATEGORY), ("-f", "0x10200000"), ("-n", f"{SHOP}/.SplashActivity")} <= pairs
    # a bare package goes through activateApp, which appium-adb runs as the same launcher intent
    device.cold_launch(SHOP)
    assert {("-a", MAIN), ("-c", LAUNCHER_CATEGORY), ("-f", "0x10200000")} <= set(zip(phone.am[-1], phone.am[-1][1:]))


def test_a_component_that_does_not_exist_is_an_error_not_a_launch(android_profile):
    device, _ = android(android_profile)
    with pytest.raises(DeviceError, match=r"could not launch com\.example\.shop.*does not exist"):
        device.cold_launch(f"{SHOP}/.NoSuchActivity")
    with pytest.raises(DeviceError, match="not installed"):
        device.cold_launch("com.gone/.Splash")


# -- 5. the screen size is the screenshot's, not the app's window --------------------------------------
def test_screen_size_falls_back_to_the_screenshot_not_the_window(android_profile):
    device, phone = android(android_profile, device_info=False, dpi=480)
    info = device.display_info()
    assert (info.width_px, info.height_px, info.density) == (1080, 2400, 3.0)
    assert phone.get_window_size()["height"] == 2337          # what the old fallback reported


def test_display_from_device_info(android_profile):
    info = android(android_profile)[0].display_info()
    assert (info.width_px, info.height_px, info.density, info.source) == (1080, 2400, 2.625, "mobile: deviceInfo")


# -- 6. system bars come from the device -----------------------------------------------------------------
def test_system_bars_are_read_from_the_device(android_profile, ios_profile):
    from crawler.check_cmd import CheckResult, _display

    device, _ = android(android_profile, status_bar_px=110, nav_bar_px=63)   # a punch-hole phone, 3-button bar
    info = device.display_info()
    assert (info.status_bar_dp, info.gesture_bar_dp) == (41.9, 24.0)     # the profile guessed 24 and 16
    display = _display(device, android_profile, CheckResult(SHOP, "android", {}))
    assert (display.status_bar_dp, display.gesture_bar_dp) == (41.9, 24.0)
    ios = IOSDevice(ios_profile, FakeXCUITest(status_bar_pt=54)).display_info()
    assert (ios.width_px, ios.height_px, ios.status_bar_dp, ios.gesture_bar_dp) == (1179, 2556, 54.0, None)


# -- 7. permission prompts come back on every cold launch ---------------------------------------------------
def test_runtime_permissions_are_revoked_before_each_cold_launch(android_profile):
    device, phone = android(android_profile, granted={"android.permission.CAMERA"})
    device.cold_launch(SHOP)
    assert phone.apps[SHOP].granted == set()
    names = [c[0] for c in phone.calls]
    assert names.index("mobile: terminateApp") < names.index("mobile: changePermissions") \
        < names.index("mobile: activateApp")
    args = dict(phone.calls)["mobile: changePermissions"]
    assert args == {"permissions": "all", "appPackage": SHOP, "action": "revoke"}


def test_clear_app_on_request_and_nothing_when_asked_not_to(android_profile):
    phone = FakeUiAutomator2([FakeApp(SHOP, granted={"android.permission.CAMERA"},
                                      user_fixed={"android.permission.CAMERA"})])
    AndroidDevice(android_profile, phone, reset="data").cold_launch(SHOP)
    assert phone.apps[SHOP].user_fixed == set() and phone.apps[SHOP].data == {}    # pm clear: asks again
    phone = FakeUiAutomator2([FakeApp(SHOP, granted={"android.permission.CAMERA"})])
    AndroidDevice(android_profile, phone, reset="none").cold_launch(SHOP)
    assert phone.apps[SHOP].granted == {"android.permission.CAMERA"}


# -- 8. jumps that stay inside the app on iOS ------------------------------------------------------------
def test_store_and_browser_sheets_are_recognised_from_their_text():
    from vision.inapp import inapp_sheet
    from vision.types import Box, TextLine

    def lines(*items):
        return [TextLine(Box(x, y, 200, 50), text, 0.9) for text, x, y in items]
    store = lines(("GET", 400, 520), ("12K RATINGS", 60, 720), ("AGE", 340, 720), ("DEVELOPER", 620, 720))
    assert inapp_sheet(store, (1179, 2556)).kind == "store"
    browser = lines(("完成", 40, 150), ("news.example.com", 420, 150), ("今日头条", 60, 600))
    assert inapp_sheet(browser, (1179, 2556)).kind == "browser"
    own = lines(("打开", 400, 1500), ("开通会员", 60, 600), ("done", 900, 2400), ("example.com", 400, 2300))
    assert inapp_sheet(own, (1179, 2556)) is None


def test_an_app_store_sheet_inside_the_app_is_a_jump(ios_profile):
    """WDA still names the app in front; the screen (OCR) shows the store sheet."""
    from crawler.live.devicelock import DeviceLock
    from crawler.watch import Watcher
    from vision.rules import load_rule_profile

    phone = FakeXCUITest(capabilities=ios_capabilities(ios_profile))
    device = IOSDevice(ios_profile, phone)
    device.cold_launch(SHOP)
    watcher = Watcher(device, ios_profile.display(), load_rule_profile(), device.foreground(), DeviceLock(), 0)
    frame = watcher.analyse(1.0, store_sheet_png())
    assert device.foreground().package == SHOP
    assert frame.jump and frame.jump.kind == "store" and "App Store" in frame.jump.detail


def store_sheet_png() -> bytes:
    """An SKStoreProductViewController sheet as iOS 17 draws it (Chinese), at 1179 x 2556."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    def font(size):
        return ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", size)
    img = Image.new("RGB", (1179, 2556), (242, 242, 247))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 150, 1179, 2556), 40, fill=(255, 255, 255))
    draw.text((60, 200), "完成", font=font(52), fill=(0, 122, 255))
    draw.rounded_rectangle((60, 330, 360, 630), 60, fill=(255, 90, 54))
    draw.text((400, 340), "云相册 - 照片备份", font=font(60), fill=(0, 0, 0))
    draw.rounded_rectangle((400, 520, 620, 610), 45, fill=(0, 122, 255))
    draw.text((452, 530), "获取", font=font(52), fill=(255, 255, 255))
    for i, (label, value) in enumerate([("2.1万个评分", "4.8"), ("年龄", "4+"), ("排行", "第3名"), ("开发者", "Cloud")]):
        draw.text((60 + i * 280, 720), label, font=font(34), fill=(140, 140, 140))
        draw.text((60 + i * 280, 780), value, font=font(52), fill=(90, 90, 90))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


# -- 9. Android frames from the MJPEG stream ------------------------------------------------------------
def test_frames_come_from_the_mjpeg_stream_at_full_size(android_profile):
    phone = FakeUiAutomator2([FakeApp(SHOP)])
    stream = FakeMjpegServer(phone)
    phone.capabilities["mjpegServerPort"] = stream.port          # as the session returns it
    device = AndroidDevice(android_profile, phone)           # Appium on this host
    try:
        frames, dated = [], []
        for _ in range(3):
            asked = time.monotonic()
            frames.append(device.frame_bytes())
            dated.append((asked, device.frame_taken_after_s))
        assert all(f.startswith(b"\xff\xd8") for f in frames)
        # A streamed frame may have been taken before it was asked for: once the stream runs, each is
        # dated before the call that got it (the live check bounds a frame by when it was asked for),
        # and each after the one before it.
        assert all(after is not None and after < asked for asked, after in dated[1:])
        assert dated[0][1] < dated[1][1] < dated[2][1]
        assert decode_png(frames[-1]).shape[:2] == (2400, 1080)             # not UiAutomator2's default half size
        assert ("update_settings", {"mjpegScalingFactor": 100, "mjpegServerScreenshotQuality": 90,
                                    "mjpegServerFramerate": 10}) in phone.calls
        assert phone.screenshots == 1              # one PNG, to check the stream's frame size, then none
        assert device.frames_from.startswith("MJPEG http://127.0.0.1:")
    finally:
        device.close()
        stream.close()


def test_the_sampler_dates_streamed_frames_by_when_they_were_taken(android_profile):
    """The live check bounds what a frame shows by when it was asked for; a streamed frame was taken
    before it arrived, so it is dated back by the stream's pipeline, never by its arrival."""
    from crawler.devices.mjpeg import PIPELINE_S
    from crawler.live.devicelock import DeviceLock
    from crawler.watch import FrameSampler

    phone = FakeUiAutomator2([FakeApp(SHOP)])
    stream = FakeMjpegServer(phone)
    phone.capabilities["mjpegServerPort"] = stream.port
    device = AndroidDevice(android_profile, phone)
    try:
        device.frame_bytes()                   # the stream is open; its first frames date from the opening
        time.sleep(PIPELINE_S)
        with FrameSampler(device, DeviceLock(), time.monotonic()) as sampler:
            time.sleep(0.8)
    finally:
        device.close()
        stream.close()
    times = [t for t, _ in sampler.history]
    assert len(times) >= 3 and times == sorted(set(times))
    gaps = [round(sampler.returned_s[t] - t, 3) for t in times]
    assert all(gap >= PIPELINE_S - 0.01 for gap in gaps), (gaps, device.frames_from)


def test_frames_fall_back_to_screenshots_without_a_stream(android_profile):
    phone = FakeUiAutomator2([FakeApp(SHOP)], capabilities={"mjpegServerPort": 9})   # nothing listens there
    device = AndroidDevice(android_profile, phone)
    assert device.frame_bytes().startswith(b"\x89PNG")
    assert device.frames_from.startswith("screenshots (PNG): MJPEG stream at http://127.0.0.1:9")


# -- the rest of the adapters' contract -----------------------------------------------------------------
def test_android_tap_is_a_w3c_touch_in_pixels(android_profile):
    device, phone = android(android_profile)
    device.tap(540.4, 1200.6)
    source = tap_action(phone.taps[-1])
    assert source["parameters"]["pointerType"] == "touch"
    kinds = [a["type"] for a in source["actions"]]
    assert kinds[0] == "pointerMove" and "pointerDown" in kinds and kinds[-1] == "pointerUp"
    move = source["actions"][0]
    assert (move["x"], move["y"]) == (540, 1201) and move.get("origin", "viewport") == "viewport"


def test_android_running_source_and_close(android_profile):
    device, phone = android(android_profile)
    assert not device.app_running()                 # nothing launched yet
    device.cold_launch(SHOP)
    assert device.app_running()
    phone.front = LAUNCHER                          # in the background
    assert not device.app_running()
    assert device.page_source() == "<hierarchy/>"
    with device:
        pass
    device.close()
    assert [c for c in phone.calls if c[0] == "quit"] == [("quit",)]


def test_ios_tap_and_display_use_the_scale(ios_profile):
    phone = FakeXCUITest()
    device = IOSDevice(ios_profile, phone)
    device.tap(300, 900)
    assert device.scale == 3.0
    info = device.display_info()
    assert (info.width_px, info.height_px, info.density) == (1179, 2556, 3.0)


def test_capabilities_keep_permission_prompts_and_a_stream(android_profile, ios_profile):
    caps = android_capabilities(android_profile, {"appium:autoGrantPermissions": True}, "http://127.0.0.1:4723")
    assert caps["appium:autoGrantPermissions"] is False and caps["appium:mjpegServerPort"] > 0
    assert "appium:mjpegServerPort" not in android_capabilities(android_profile, {}, "http://farm.example:4444")
    caps = ios_capabilities(ios_profile, {"appium:autoAcceptAlerts": True})
    assert caps["appium:autoAcceptAlerts"] is False and caps["appium:autoDismissAlerts"] is False
    assert caps["appium:waitForIdleTimeout"] == 0.5


def _fg(package: str, activity: str = ".MainActivity", platform: str = "android") -> Foreground:
    return Foreground(platform, f"{package}/{activity}", package, activity)


@pytest.mark.parametrize("package, activity, kind", [
    ("com.example.shop", ".MainActivity", "none"),                      # splash -> home: same app
    ("com.android.vending", ".AssetBrowserActivity", "store"),
    ("com.huawei.appmarket", ".MainActivity", "store"),
    ("com.tencent.mtt", ".MainActivity", "browser"),
    ("com.other.game", ".GameActivity", "other_app"),
    ("com.example.shop", "com.bytedance.sdk.openadsdk.activity.TTLandingPageActivity", "ad_activity"),
    ("com.example.shop", "com.qq.e.ads.PortraitADActivity", "ad_activity"),
    ("com.google.android.permissioncontroller", ".GrantPermissionsActivity", "none"),
])
def test_android_jumps(package, activity, kind):
    jump = detect_jump(_fg("com.example.shop", ".SplashActivity"), _fg(package, activity))
    assert jump.kind == kind
    assert bool(jump) == (kind != "none")


def test_ios_jump_to_safari():
    base = Foreground("ios", "com.example.shop", "com.example.shop")
    now = Foreground("ios", "com.apple.mobilesafari", "com.apple.mobilesafari")
    assert detect_jump(base, now).kind == "browser"


def test_web_jumps():
    base = Foreground("web", "http://127.0.0.1:8000/a/index.html", "http://127.0.0.1:8000")
    same = Foreground("web", "http://127.0.0.1:8000/a/index.html#home", "http://127.0.0.1:8000")
    other = Foreground("web", "http://127.0.0.1:9000/landing.html", "http://127.0.0.1:9000")
    window = dataclasses.replace(base, window_count=2)
    assert not same.jump_since(base)
    assert other.jump_since(base).kind == "other_origin"
    assert window.jump_since(base).kind == "new_window"


def test_open_device_rejects_an_unknown_platform():
    odd = DeviceProfile(name="odd", platform="symbian", screen_px=(1, 1), density=1.0)
    with pytest.raises(DeviceError, match="unknown platform"):
        open_device(odd, "http://127.0.0.1:1")


def test_open_device_picks_the_android_adapter(android_profile, monkeypatch):
    seen = {}

    def fake_connect(cls, profile, appium_url, *, capabilities=None, reset="permissions"):
        seen.update(cls=cls, url=appium_url, caps=capabilities, reset=reset)
        return cls(profile, FakeUiAutomator2())

    monkeypatch.setattr(AndroidDevice, "connect", classmethod(fake_connect))
    device = open_device(android_profile, "http://127.0.0.1:4723", capabilities={"appium:udid": "emulator-5554"},
                         reset="data")
    assert isinstance(device, AndroidDevice)
    assert seen["caps"] == {"appium:udid": "emulator-5554"} and seen["reset"] == "data"


# -- 10. the phone and extra capabilities from the command line; no traceback reaches the user ---------
FAKE_CLI = [sys.executable, str(Path(__file__).with_name("fake_cli.py"))]


def fake_cli(args: list[str], record: Path, apps=(SHOP,)) -> subprocess.CompletedProcess:
    env = dict(os.environ, SPLASHAUDIT_FAKE_PHONE=json.dumps({"platform": "android", "apps": list(apps),
                                                              "record": str(record)}))
    return subprocess.run([*FAKE_CLI, *args], capture_output=True, text=True, timeout=180, env=env)


def sessions(record: Path) -> list[dict]:
    return [json.loads(line)["caps"] for line in record.read_text().splitlines()]


def test_check_takes_udid_and_caps_and_a_driver_error_is_one_line(appium_server, tmp_path):
    record = tmp_path / "sessions.jsonl"
    run = fake_cli(["check", "com.missing", "--profile", "android-1080x2400-3.0", "--appium", appium_server.url,
                    "--out", str(tmp_path / "out"), "--probes", "3", "--udid", "R58M123ABC",
                    "--cap", "appium:systemPort=8201", "--cap", "noReset=false"], record)
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "com.missing is not installed on the device" in lines[0], run.stderr
    (caps,) = sessions(record)
    assert caps["appium:udid"] == "R58M123ABC" and caps["appium:systemPort"] == 8201
    assert caps["appium:noReset"] is False and caps["appium:autoGrantPermissions"] is False
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["verdict"] == "incomplete" and "not installed" in result["error"]


def test_batch_takes_udid_and_caps(appium_server, tmp_path):
    record = tmp_path / "sessions.jsonl"
    apps = tmp_path / "apps.txt"
    apps.write_text("com.missing android android-1080x2400-3.0\n", encoding="utf-8")
    run = fake_cli(["batch", str(apps), "--appium", appium_server.url, "--out", str(tmp_path / "batch"),
                    "--probes", "3", "--udid", "emulator-5554", "--cap", "appium:mjpegServerPort=7811"], record)
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    caps = sessions(record)
    assert caps and all(c["appium:udid"] == "emulator-5554" and c["appium:mjpegServerPort"] == 7811 for c in caps)


def test_a_malformed_cap_is_a_usage_error():
    from typer.testing import CliRunner

    from crawler.cli import app

    run = CliRunner().invoke(app, ["check", SHOP, "--cap", "udid"])
    assert run.exit_code == 2 and "expected key=value" in run.output


# -- 11. check --record: the phone's own recorder films the observe launch -------------------------------
def _recorded_check(appium_server, profile, tmp_path, monkeypatch, phone: FakeUiAutomator2):
    from crawler.check_cmd import run_check
    from vision.rules import load_rule_profile

    monkeypatch.setattr(AndroidDevice, "connect", classmethod(lambda cls, prof, url, **kw: cls(prof, phone)))
    return run_check(SHOP, profile, tmp_path, load_rule_profile(), appium_url=appium_server.url,
                     kinds=("observe",), record=True)


def test_the_observe_launch_is_filmed_by_the_phone_and_judged_from_its_video(
        appium_server, android_profile, fixture_videos, tmp_path, monkeypatch):
    """The phone's screen shows no ad (a plain screen); its recorder's video shows `late_close`'s ad,
    whose ✕ comes 4 s in: what the recording is judged to show can only come from the video."""
    from test_check_e2e import CLOSE_SHOWN_S

    folder, _ = fixture_videos
    phone = FakeUiAutomator2([FakeApp(SHOP)])
    phone.recorded_video = (folder / "late_close.mp4").read_bytes()
    result = _recorded_check(appium_server, android_profile, tmp_path, monkeypatch, phone)
    rec = result.recording
    assert result.complete and rec["error"] is None and "screenrecord" in rec["source"]
    assert (tmp_path / rec["file"]).read_bytes() == phone.recorded_video       # filed as the phone gave it
    names = [c[0] for c in phone.calls]
    started = names.index("start_recording_screen")
    assert started < names.index("mobile: terminateApp") and "stop_recording_screen" in names[started:]
    options = phone.calls[started][1]
    assert options["forceRestart"] is True and 1 <= options["timeLimit"] <= 1800
    assert rec["starts_at_s"] <= 0          # the recorder ran before the app was launched
    from_video = {f["rule"]: f for f in rec["findings"]}
    assert from_video["CLOSE_PRESENT"]["verdict"] == "violation"
    assert abs(from_video["CLOSE_PRESENT"]["evidence"]["delay_s"] - CLOSE_SHOWN_S["late_close"]) <= 0.2
    assert "CLOSE_EFFECTIVE" not in from_video      # no tap of the check's is in an observe launch
    # the check saw no ad on the phone's screenshots: the two disagree, and the result says so
    assert rec["check_verdicts"]["CLOSE_PRESENT"] == "inconclusive" and "CLOSE_PRESENT" in rec["disagreements"]
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="recording"' in report and rec["file"] in report


def test_a_recorder_that_does_not_start_leaves_the_screenshots_as_the_recording_and_says_why(
        appium_server, android_profile, tmp_path, monkeypatch):
    phone = FakeUiAutomator2([FakeApp(SHOP)])
    phone.recorder_error = "Screen recording does not work on emulators running Android API level less than 27"
    result = _recorded_check(appium_server, android_profile, tmp_path, monkeypatch, phone)
    rec = result.recording
    assert result.complete and result.exit_code == 0       # the check itself is not harmed
    assert "did not start" in rec["error"] and "API level less than 27" in rec["error"]
    assert "screenshots" in rec["source"] and (tmp_path / rec["file"]).stat().st_size > 0
    assert rec["timeline"]["frames"]["looked_at"] >= 2
    assert {f["verdict"] for f in rec["findings"]} == {"inconclusive"}      # a plain screen: no ad to judge
