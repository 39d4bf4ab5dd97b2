"""An Android phone or emulator over Appium UiAutomator2.

The app is a package name (``com.example.shop``) or a component (``com.example.shop/.SplashActivity``).
Screenshots, taps and the display are all in physical pixels; density is densityDpi / 160.
``appium:autoGrantPermissions`` is forced off so that permission prompts stay visible.
"""

from __future__ import annotations

import re

from selenium.common.exceptions import WebDriverException

from crawler.devices.base import DeviceError, DisplayInfo, DriverDevice, Foreground
from crawler.devices.faults import crash_cause, lost_cause
from crawler.profiles import DeviceProfile

APP_STATE_FOREGROUND = 4
DP_DENSITY = 160.0
#: How Appium's Android driver tells an emulator (``isEmulator``): an ``avd`` capability, or a udid
#: such as ``emulator-5554``. ``mobile: sensorSet`` refuses anything else.
_EMULATOR = re.compile(r"\bemulator\b", re.IGNORECASE)


def split_app(app: str) -> tuple[str, str | None]:
    """``package/activity`` -> (package, activity); a bare package gives (package, None)."""
    package, _, activity = app.partition("/")
    return package, activity or None


def android_capabilities(profile: DeviceProfile, extra: dict | None = None) -> dict:
    caps = {**profile.capabilities, **(extra or {})}
    caps.setdefault("platformName", "Android")
    caps.setdefault("appium:automationName", "UiAutomator2")
    caps["appium:autoGrantPermissions"] = False
    return caps


class AndroidDevice(DriverDevice):
    """An Android device; ``driver`` is an appium-python-client WebDriver (or a stand-in for tests)."""

    platform = "android"

    def __init__(self, profile: DeviceProfile, driver) -> None:
        super().__init__(profile, driver)
        self.package: str | None = None

    @classmethod
    def connect(cls, profile: DeviceProfile, appium_url: str, *, capabilities: dict | None = None) -> AndroidDevice:
        from appium.options.android import UiAutomator2Options

        options = UiAutomator2Options().load_capabilities(android_capabilities(profile, capabilities))
        return cls._open_appium_session(profile, appium_url, options, "UiAutomator2")

    def cold_launch(self, app: str) -> None:
        """Force-stop the package, then start it (its launcher activity, or the given one)."""
        package, activity = split_app(app)
        self.package = package
        self.driver.terminate_app(package)
        if activity:
            component = f"{package}/{activity}"
            self.driver.execute_script("mobile: startActivity", {"component": component, "wait": True})
        else:
            self.driver.activate_app(package)

    def foreground(self) -> Foreground:
        package = self.driver.current_package
        self._check_alive(self.package, package)
        activity = self.driver.current_activity
        return Foreground(platform="android", identity=f"{package}/{activity}", package=package,
                          activity=activity)

    def screenshot_png(self) -> bytes:
        return self.driver.get_screenshot_as_png()

    def page_source(self) -> str | None:
        try:
            return self.driver.page_source
        except WebDriverException:
            return None

    def tap(self, x_px: float, y_px: float) -> None:
        self._tap_scaled(x_px, y_px, 1.0)

    def display_info(self) -> DisplayInfo:
        """From ``mobile: deviceInfo`` (realDisplaySize, displayDensity), else window size + density."""
        try:
            info = self.driver.execute_script("mobile: deviceInfo") or {}
            width, height = (int(v) for v in str(info["realDisplaySize"]).lower().split("x"))
            return DisplayInfo(width, height, float(info["displayDensity"]) / DP_DENSITY, "mobile: deviceInfo")
        except (WebDriverException, KeyError, ValueError, TypeError):
            pass
        size = self.driver.get_window_size()
        dpi = self.driver.get_display_density()
        density = float(dpi) / DP_DENSITY if dpi else None
        return DisplayInfo(int(size["width"]), int(size["height"]), density, "get_display_density")

    def app_running(self) -> bool:
        if self.package is None:
            return False
        return self.driver.query_app_state(self.package) == APP_STATE_FOREGROUND

    # -- motion input: the emulator's virtual sensors; a real phone's sensors cannot be fed ---------
    cannot_shake = ("this device cannot be shaken by the tool (a real Android phone: Appium's "
                    "mobile: sensorSet feeds emulators only)")

    def is_emulator(self) -> bool:
        caps = getattr(self.driver, "capabilities", None) or {}
        if caps.get("avd") or caps.get("appium:avd"):
            return True
        names = (caps.get(k) for k in ("udid", "appium:udid", "deviceUDID", "deviceName", "appium:deviceName"))
        return any(_EMULATOR.search(str(name)) for name in names if name)

    def motion_support(self) -> str | None:
        return "emulator sensors (mobile: sensorSet, i.e. adb emu sensor set)" if self.is_emulator() else None

    def motion_arm(self, rest) -> None:
        """The emulator's sensors keep their values across launches: set them at rest now."""
        if not self.is_emulator():
            raise DeviceError(self.cannot_shake)
        self.motion_set(rest)

    def motion_set(self, reading) -> None:
        """``adb emu sensor set acceleration x:y:z`` (gravity included) and ``gyroscope`` (rad/s); the
        emulator derives linear acceleration itself."""
        for sensor, xyz in (("acceleration", reading.accel), ("gyroscope", reading.gyro_rad_s)):
            try:
                self.driver.execute_script("mobile: sensorSet",
                                           {"sensorType": sensor, "value": ":".join(f"{v:.4f}" for v in xyz)})
            except WebDriverException as exc:
                if lost_cause(exc) or crash_cause(exc):
                    raise
                raise DeviceError(f"the emulator refused sensor input: {(exc.msg or str(exc)).strip()[:150]}") from exc

