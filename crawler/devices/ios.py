"""An iPhone or simulator over Appium XCUITest.

The app is a bundle id. Screenshots are in pixels; XCUITest coordinates are points, so ``tap`` divides
screenshot px by the screen scale (``mobile: deviceScreenInfo``). ``appium:autoAcceptAlerts`` and
``autoDismissAlerts`` are forced off so that permission alerts stay visible.

How a real phone is asked, and why (appium-xcuitest-driver 12.13, WebDriverAgent):

- A cold launch is ``mobile: terminateApp`` then ``mobile: launchApp`` (WDA ``/wda/apps/launch``), not
  ``mobile: activateApp``: activating makes XCTest wait until the app is idle, up to WDA's
  ``waitForIdleTimeout`` (10 s by default), and a splash with a countdown or a video keeps it busy, so
  the first frames would come after most of the splash. WDA's launch waits for quiescence only for the
  session's own app (``appium:bundleId``), and the profile's small ``appium:waitForIdleTimeout`` bounds
  that wait, and the wait after each tap, too.
- A launch error (not installed, not launchable) is one line, and a missing app ends the check.
- An App Store sheet (``SKStoreProductViewController``) or an ``SFSafariViewController`` opened by an ad
  keeps the app's bundle id in front; such jumps are seen from the screen (``vision.inapp``).
- The status bar's height is read from ``mobile: deviceScreenInfo`` (``statusBarSize``, points); iOS
  gives no API for the home indicator, so its inset stays the profile's.
"""

from __future__ import annotations

from selenium.common.exceptions import WebDriverException

from crawler.devices.base import (APP_STATE_FOREGROUND, AppiumScreenRecorder, DisplayInfo, DriverDevice, Foreground,
                                  crash_cause, first_line, lost_cause)
from crawler.profiles import DeviceProfile

#: Seconds WDA waits for the app to be idle (launch of the session's own app, after a tap). A splash
#: video keeps an app busy; the watch must not stall behind it.
WAIT_FOR_IDLE_S = 0.5


def ios_capabilities(profile: DeviceProfile, extra: dict | None = None) -> dict:
    caps = {**profile.capabilities, **(extra or {})}
    caps.setdefault("platformName", "iOS")
    caps.setdefault("appium:automationName", "XCUITest")
    caps.setdefault("appium:waitForIdleTimeout", WAIT_FOR_IDLE_S)
    caps["appium:autoAcceptAlerts"] = False
    caps["appium:autoDismissAlerts"] = False
    return caps


class IOSDevice(AppiumScreenRecorder, DriverDevice):
    """An iOS device; ``driver`` is an appium-python-client WebDriver (or a stand-in for tests)."""

    platform = "ios"
    MAP_DRIVER_ERRORS = True
    screen_recorder = "WebDriverAgent's screen stream through ffmpeg (XCUITest start_recording_screen)"
    #: XCUITest records 10 frames a second by default: too coarse to place a close control's arrival.
    RECORDING_OPTIONS = {"videoFps": 24}

    def __init__(self, profile: DeviceProfile, driver, **_ignored) -> None:
        super().__init__(profile, driver)
        self.bundle_id: str | None = None
        self.frames_from = "screenshots (PNG)"
        self._scale: float | None = None
        self._screen_info: dict | None = None

    @classmethod
    def connect(cls, profile: DeviceProfile, appium_url: str, *, capabilities: dict | None = None,
                **_ignored) -> IOSDevice:
        from appium.options.ios import XCUITestOptions

        options = XCUITestOptions().load_capabilities(ios_capabilities(profile, capabilities))
        return cls._open_appium_session(profile, appium_url, options, "XCUITest")

    def cold_launch(self, app: str) -> None:
        """Terminate, launch without the idle wait, and wait for the app's window in front."""
        self.bundle_id, self._in_front = app, None
        try:
            self.driver.execute_script("mobile: terminateApp", {"bundleId": app})
            self.driver.execute_script("mobile: launchApp", {"bundleId": app})
        except WebDriverException as exc:
            raise self._launch_failed(app, exc) from exc
        self._in_front = self._wait_in_front(app)

    def foreground(self) -> Foreground:
        return self._look(check_alive=True)

    def _look(self, check_alive: bool) -> Foreground:
        try:
            info = self.driver.execute_script("mobile: activeAppInfo") or {}
        except WebDriverException as exc:
            if lost_cause(exc) or crash_cause(exc):
                raise
            return Foreground.unknown("ios", first_line(exc))
        bundle = str(info.get("bundleId") or "")
        if not bundle:
            return Foreground.unknown("ios", "WebDriverAgent named no active app")
        if check_alive:
            self._check_alive(self.bundle_id, bundle)
        return Foreground(platform="ios", identity=bundle, package=bundle)

    def _screen(self) -> dict:
        """``mobile: deviceScreenInfo`` ({} where the driver does not offer it), asked once."""
        if self._screen_info is None:
            try:
                self._screen_info = dict(self.driver.execute_script("mobile: deviceScreenInfo") or {})
            except (WebDriverException, TypeError, ValueError):
                self._screen_info = {}
        return self._screen_info

    @property
    def scale(self) -> float:
        """Pixels per point (``mobile: deviceScreenInfo`` scale), else the profile's density."""
        if self._scale is None:
            try:
                self._scale = float(self._screen()["scale"])
            except (KeyError, ValueError, TypeError):
                self._scale = float(self.profile.density)
        return self._scale

    def screenshot_png(self) -> bytes:
        return self.driver.get_screenshot_as_png()

    def tap(self, x_px: float, y_px: float) -> None:
        self._tap_scaled(x_px, y_px, self.scale)

    def display_info(self) -> DisplayInfo:
        """Window size in points times the scale; the status bar from ``statusBarSize`` (points = dp)."""
        size = self.driver.get_window_size()
        scale = self.scale
        try:
            status_dp = float(self._screen()["statusBarSize"]["height"])
        except (KeyError, ValueError, TypeError):
            status_dp = None
        return DisplayInfo(round(size["width"] * scale), round(size["height"] * scale), scale,
                           "get_window_size x mobile: deviceScreenInfo", status_dp, None,
                           "mobile: deviceScreenInfo statusBarSize" if status_dp is not None else None)

    #: XCUITest's ``mobile: shake`` sends the Simulator one shake gesture (UIEventSubtypeMotionShake),
    #: not accelerometer readings, and nothing feeds a real iPhone's sensors.
    cannot_shake = ("this device cannot be shaken by the tool (iOS: XCUITest feeds no motion sensor "
                    "readings; mobile: shake is one gesture on the Simulator)")

    def app_running(self) -> bool:
        if self.bundle_id is None:
            return False
        return self._app_state(self.bundle_id) == APP_STATE_FOREGROUND
