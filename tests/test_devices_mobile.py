"""Android and iOS adapters against a fake driver that records calls and returns scripted values.

No phone or emulator runs here; these tests pin what the adapters ask Appium for and how they read
the answers (units, jump rules, the W3C touch tap).
"""

from __future__ import annotations

import pytest
from selenium.common.exceptions import WebDriverException

from crawler.devices import DeviceError, Foreground, detect_jump, open_device
from crawler.devices.faults import AppCrashed
from crawler.devices.android import AndroidDevice, android_capabilities
from crawler.devices.ios import IOSDevice, ios_capabilities
from crawler.profiles import DeviceProfile, load_profile


class FakeDriver:
    """Stands in for appium-python-client's WebDriver: records calls, answers from ``scripts``."""

    def __init__(self, scripts: dict | None = None, **attrs) -> None:
        self.calls: list[tuple] = []
        self.scripts = scripts or {}
        self.current_package = attrs.get("current_package", "com.example.shop")
        self.current_activity = attrs.get("current_activity", ".MainActivity")
        self.app_state = attrs.get("app_state", 4)
        self.window_size = attrs.get("window_size", {"width": 1080, "height": 2400})
        self.density_dpi = attrs.get("density_dpi", 420)

    def execute_script(self, script, *args):
        self.calls.append(("execute_script", script, *args))
        answer = self.scripts.get(script)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def execute(self, command, params=None):        # what W3C actions go through
        self.calls.append(("execute", command, params))
        return {"value": None}

    def terminate_app(self, app_id):
        self.calls.append(("terminate_app", app_id))

    def activate_app(self, app_id):
        self.calls.append(("activate_app", app_id))

    def query_app_state(self, app_id):
        self.calls.append(("query_app_state", app_id))
        return self.app_state

    def get_screenshot_as_png(self):
        return b"\x89PNG fake"

    @property
    def page_source(self):
        return "<hierarchy/>"

    def get_window_size(self):
        return self.window_size

    def get_display_density(self):
        return self.density_dpi

    def quit(self):
        self.calls.append(("quit",))

    def names(self) -> list[str]:
        return [c[0] if c[0] != "execute_script" else c[1] for c in self.calls]


def tap_action(driver: FakeDriver) -> dict:
    """The one W3C pointer source of the last ``actions`` command."""
    params = [c[2] for c in driver.calls if c[:2] == ("execute", "actions")][-1]
    (source,) = [a for a in params["actions"] if a["type"] == "pointer"]
    return source


@pytest.fixture
def android_profile() -> DeviceProfile:
    return load_profile("android-1080x2400-2.625")


@pytest.fixture
def ios_profile() -> DeviceProfile:
    return load_profile("iphone-1179x2556-3")


def test_android_cold_launch_by_package(android_profile):
    driver = FakeDriver()
    AndroidDevice(android_profile, driver).cold_launch("com.example.shop")
    assert driver.calls == [("terminate_app", "com.example.shop"), ("activate_app", "com.example.shop")]


def test_android_cold_launch_by_component(android_profile):
    driver = FakeDriver()
    AndroidDevice(android_profile, driver).cold_launch("com.example.shop/.SplashActivity")
    assert driver.calls[0] == ("terminate_app", "com.example.shop")
    assert driver.calls[1] == ("execute_script", "mobile: startActivity",
                               {"component": "com.example.shop/.SplashActivity", "wait": True})


def test_android_foreground_and_running(android_profile):
    driver = FakeDriver(current_activity=".SplashActivity")
    device = AndroidDevice(android_profile, driver)
    assert not device.app_running()                 # nothing launched yet
    device.cold_launch("com.example.shop")
    fg = device.foreground()
    assert fg == Foreground("android", "com.example.shop/.SplashActivity", "com.example.shop", ".SplashActivity")
    assert device.app_running()
    driver.app_state = 3                            # running in background
    assert not device.app_running()
    assert ("query_app_state", "com.example.shop") in driver.calls


def test_android_app_gone_from_the_front_is_a_crash_not_a_jump(android_profile):
    """A stand-in: no Android device here. A launcher in front with the app not running is a crash."""
    driver = FakeDriver()
    device = AndroidDevice(android_profile, driver)
    device.cold_launch("com.example.shop")
    driver.current_package, driver.app_state = "com.android.chrome", 3     # app in background: a jump
    assert device.foreground().package == "com.android.chrome"
    driver.current_package, driver.app_state = "com.google.android.apps.nexuslauncher", 1
    with pytest.raises(AppCrashed, match="com.example.shop is no longer running"):
        device.foreground()


def test_android_display_from_device_info(android_profile):
    driver = FakeDriver({"mobile: deviceInfo": {"realDisplaySize": "1080x2400", "displayDensity": 420}})
    info = AndroidDevice(android_profile, driver).display_info()
    assert (info.width_px, info.height_px, info.density) == (1080, 2400, 2.625)
    assert info.source == "mobile: deviceInfo"


def test_android_display_falls_back_to_density(android_profile):
    driver = FakeDriver({"mobile: deviceInfo": WebDriverException("not supported")}, density_dpi=480,
                        window_size={"width": 1080, "height": 2340})
    info = AndroidDevice(android_profile, driver).display_info()
    assert (info.width_px, info.height_px, info.density) == (1080, 2340, 3.0)


def test_android_tap_is_a_w3c_touch_in_pixels(android_profile):
    driver = FakeDriver()
    AndroidDevice(android_profile, driver).tap(540.4, 1200.6)
    source = tap_action(driver)
    assert source["parameters"]["pointerType"] == "touch"
    kinds = [a["type"] for a in source["actions"]]
    assert kinds[0] == "pointerMove" and "pointerDown" in kinds and kinds[-1] == "pointerUp"
    move = source["actions"][0]
    assert (move["x"], move["y"]) == (540, 1201) and move.get("origin", "viewport") == "viewport"


def test_android_screenshot_source_close(android_profile):
    driver = FakeDriver()
    device = AndroidDevice(android_profile, driver)
    assert device.screenshot_png().startswith(b"\x89PNG")
    assert device.page_source() == "<hierarchy/>"
    with device:
        pass
    device.close()
    assert driver.names().count("quit") == 1


def test_ios_cold_launch_foreground_and_running(ios_profile):
    driver = FakeDriver({"mobile: activeAppInfo": {"bundleId": "com.example.shop", "pid": 12}})
    device = IOSDevice(ios_profile, driver)
    device.cold_launch("com.example.shop")
    assert driver.calls[:2] == [("execute_script", "mobile: terminateApp", {"bundleId": "com.example.shop"}),
                                ("execute_script", "mobile: activateApp", {"bundleId": "com.example.shop"})]
    assert device.foreground().package == "com.example.shop"
    assert device.app_running()


def test_ios_tap_and_display_use_the_scale(ios_profile):
    driver = FakeDriver({"mobile: deviceScreenInfo": {"scale": 3, "statusBarSize": {"width": 393, "height": 59}}},
                        window_size={"width": 393, "height": 852})
    device = IOSDevice(ios_profile, driver)
    device.tap(300, 900)
    move = tap_action(driver)["actions"][0]
    assert (move["x"], move["y"]) == (100, 300)
    info = device.display_info()
    assert (info.width_px, info.height_px, info.density) == (1179, 2556, 3.0)


def test_ios_scale_falls_back_to_the_profile(ios_profile):
    driver = FakeDriver({"mobile: deviceScreenInfo": WebDriverException("old WDA")})
    assert IOSDevice(ios_profile, driver).scale == 3.0


def test_capabilities_keep_permission_prompts(android_profile, ios_profile):
    assert android_capabilities(android_profile, {"appium:autoGrantPermissions": True})[
        "appium:autoGrantPermissions"] is False
    caps = ios_capabilities(ios_profile, {"appium:autoAcceptAlerts": True})
    assert caps["appium:autoAcceptAlerts"] is False and caps["appium:autoDismissAlerts"] is False


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
    window = Foreground("web", base.identity, base.package, window_count=2)
    assert not same.jump_since(base)
    assert other.jump_since(base).kind == "other_origin"
    assert window.jump_since(base).kind == "new_window"


def test_open_device_rejects_an_unknown_platform(android_profile):
    odd = DeviceProfile(name="odd", platform="symbian", screen_px=(1, 1), density=1.0)
    with pytest.raises(DeviceError, match="unknown platform"):
        open_device(odd, "http://127.0.0.1:1")


def test_open_device_picks_the_android_adapter(android_profile, monkeypatch):
    seen = {}

    def fake_connect(cls, profile, appium_url, *, capabilities=None):
        seen.update(cls=cls, url=appium_url, caps=capabilities)
        return cls(profile, FakeDriver())

    monkeypatch.setattr(AndroidDevice, "connect", classmethod(fake_connect))
    device = open_device(android_profile, "http://127.0.0.1:4723", capabilities={"appium:udid": "emulator-5554"})
    assert isinstance(device, AndroidDevice) and seen["caps"] == {"appium:udid": "emulator-5554"}
