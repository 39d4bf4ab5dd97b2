"""An iPhone or simulator over Appium XCUITest.

The app is a bundle id. Screenshots are in pixels; XCUITest coordinates are points, so ``tap`` divides
screenshot px by the screen scale (``mobile: deviceScreenInfo``). ``appium:autoAcceptAlerts`` and
``autoDismissAlerts`` are forced off so that permission alerts stay visible.
"""

from __future__ import annotations

from selenium.common.exceptions import WebDriverException

from crawler.devices.base import DisplayInfo, DriverDevice, Foreground
from crawler.profiles import DeviceProfile

APP_STATE_FOREGROUND = 4


def ios_capabilities(profile: DeviceProfile, extra: dict | None = None) -> dict:
    caps = {**profile.capabilities, **(extra or {})}
    caps.setdefault("platformName", "iOS")
    caps.setdefault("appium:automationName", "XCUITest")
    caps["appium:autoAcceptAlerts"] = False
    caps["appium:autoDismissAlerts"] = False
    return caps


class IOSDevice(DriverDevice):
    """An iOS device; ``driver`` is an appium-python-client WebDriver (or a stand-in for tests)."""

    platform = "ios"

    def __init__(self, profile: DeviceProfile, driver) -> None:
        super().__init__(profile, driver)
        self.bundle_id: str | None = None
        self._scale: float | None = None

    @classmethod
    def connect(cls, profile: DeviceProfile, appium_url: str, *, capabilities: dict | None = None) -> IOSDevice:
        from appium.options.ios import XCUITestOptions

        options = XCUITestOptions().load_capabilities(ios_capabilities(profile, capabilities))
        return cls._open_appium_session(profile, appium_url, options, "XCUITest")

    def cold_launch(self, app: str) -> None:
        self.bundle_id = app
        self.driver.execute_script("mobile: terminateApp", {"bundleId": app})
        self.driver.execute_script("mobile: activateApp", {"bundleId": app})

    def foreground(self) -> Foreground:
        info = self.driver.execute_script("mobile: activeAppInfo") or {}
        bundle = str(info.get("bundleId", ""))
        self._check_alive(self.bundle_id, bundle)
        return Foreground(platform="ios", identity=bundle, package=bundle)

    @property
    def scale(self) -> float:
        """Pixels per point (``mobile: deviceScreenInfo`` scale), else the profile's density."""
        if self._scale is None:
            try:
                info = self.driver.execute_script("mobile: deviceScreenInfo") or {}
                self._scale = float(info["scale"])
            except (WebDriverException, KeyError, ValueError, TypeError):
                self._scale = float(self.profile.density)
        return self._scale

    def screenshot_png(self) -> bytes:
        return self.driver.get_screenshot_as_png()

    def page_source(self) -> str | None:
        try:
            return self.driver.page_source
        except WebDriverException:
            return None

    def tap(self, x_px: float, y_px: float) -> None:
        self._tap_scaled(x_px, y_px, self.scale)

    def display_info(self) -> DisplayInfo:
        """Window size in points times the scale."""
        size = self.driver.get_window_size()
        scale = self.scale
        return DisplayInfo(round(size["width"] * scale), round(size["height"] * scale), scale,
                           "get_window_size x mobile: deviceScreenInfo")

    #: XCUITest's ``mobile: shake`` sends the Simulator one shake gesture (UIEventSubtypeMotionShake),
    #: not accelerometer readings, and nothing feeds a real iPhone's sensors.
    cannot_shake = ("this device cannot be shaken by the tool (iOS: XCUITest feeds no motion sensor "
                    "readings; mobile: shake is one gesture on the Simulator)")

    def app_running(self) -> bool:
        if self.bundle_id is None:
            return False
        return self.driver.query_app_state(self.bundle_id) == APP_STATE_FOREGROUND

