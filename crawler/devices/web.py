"""The Chromium phone: a real Appium session (chromium driver) on Debian's headless Chromium.

The "app" is a URL. Screenshots are in device pixels (CSS px x pixel ratio: 412 x 915 at 2.625 gives
1082 x 2402); ``tap`` takes those pixels and divides by the pixel ratio. The app's identity is its
origin; leaving that origin or opening a new window is a jump.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import os
import platform
import shutil
import signal
import tempfile
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from selenium import webdriver
from selenium.common.exceptions import InvalidSessionIdException, JavascriptException, WebDriverException
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig

from crawler.appium_server import free_port, pids_with_argument
from crawler.devices.base import DisplayInfo, DriverDevice, Foreground, session_failed
from crawler.devices.faults import AppCrashed, DeviceError, DeviceLost, crash_cause, lost_cause, server_label
from crawler.profiles import DeviceProfile
from vision.types import Box

CHROMIUM_BINARY = "/usr/bin/chromium"
CHROMEDRIVER_BINARY = "/usr/bin/chromedriver"
# What headless Chromium needs here (root, no network); see FIELD_NOTES "Running headless Chromium here".
CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL (default ports made explicit); ``about:blank`` stays as is."""
    parts = urllib.parse.urlsplit(url)
    if not parts.netloc:
        return f"{parts.scheme}:"
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def css_metrics(profile: DeviceProfile) -> dict:
    """``mobileEmulation.deviceMetrics`` for a profile: its screen in CSS px at its pixel ratio."""
    w_px, h_px = profile.screen_px
    return {"width": round(w_px / profile.density), "height": round(h_px / profile.density),
            "pixelRatio": profile.density, "touch": True}


def _new_session(profile: DeviceProfile, appium_url: str, timeout_s: float, extra: dict | None = None):
    """A new Chromium session (driver, its profile directory); ``DeviceError`` in one line if none."""
    user_data_dir = tempfile.mkdtemp(prefix="splashaudit-chromium-")
    options = ArgOptions()
    for name, value in web_capabilities(profile, user_data_dir, free_port(), extra).items():
        options.set_capability(name, value)
    # Keep-alive connections for up to 4 requests at once (urllib3's default is 1): the motion
    # sensors' readings are sent side by side (``WebDevice.motion_set``).
    config = ClientConfig(remote_server_addr=appium_url,
                          init_args_for_pool_manager={"init_args_for_pool_manager": {"maxsize": 4}})
    try:
        driver = webdriver.Remote(appium_url, options=options, client_config=config)
    except Exception as exc:          # refused, reset, MaxRetryError, session not created: one line
        shutil.rmtree(user_data_dir, ignore_errors=True)
        raise session_failed(exc, "Chromium", appium_url) from exc
    driver.set_page_load_timeout(timeout_s)
    return driver, user_data_dir


def web_capabilities(profile: DeviceProfile, user_data_dir: str, chromedriver_port: int,
                     extra: dict | None = None) -> dict:
    """W3C capabilities for Appium's chromium driver from a ``platform = "web"`` profile.

    chromedriver only matches ``browserName`` "chrome", so the profile's "chromium" is sent as "chrome";
    the browser actually started is ``goog:chromeOptions.binary`` (Debian chromium). A free
    ``chromedriverPort`` keeps parallel sessions apart (the driver kills chromedrivers on its port).
    """
    caps = copy.deepcopy({**profile.capabilities, **(extra or {})})
    if caps.get("browserName", "chromium").lower() in ("chromium", "chrome"):
        caps["browserName"] = "chrome"
    system = platform.system().lower()
    caps.setdefault("platformName", {"darwin": "mac"}.get(system, system))
    caps.setdefault("appium:automationName", "Chromium")
    caps.setdefault("appium:executable", CHROMEDRIVER_BINARY)
    caps.setdefault("appium:autodownloadEnabled", False)
    caps["appium:chromedriverPort"] = chromedriver_port
    # Appium ends a session after 60 s without a command; analysing a video ad's frames after the
    # watch (nothing asked of the phone meanwhile) took longer than that on a busy machine.
    caps.setdefault("appium:newCommandTimeout", 300)
    chrome = caps.setdefault("goog:chromeOptions", {})
    chrome.setdefault("binary", CHROMIUM_BINARY)
    chrome["args"] = [*CHROMIUM_ARGS, *chrome.get("args", []), f"--user-data-dir={user_data_dir}"]
    chrome.setdefault("mobileEmulation", {"deviceMetrics": css_metrics(profile)})
    return caps


_CDP_COMMAND = "splashauditExecuteCdp"
#: The sensors behind ``devicemotion`` (accelerationIncludingGravity, acceleration, rotationRate).
#: Chromium fires no devicemotion unless they are overridden before the page loads.
MOTION_SENSORS = ("accelerometer", "linear-acceleration", "gyroscope")
#: JPEG quality of watched frames: the analyzer's scores hold on JPEG-90 copies of the labelled screens.
FRAME_JPEG_QUALITY = 90


def _refused(exc: WebDriverException) -> Exception:
    """A DevTools sensor call that failed: a gone server or crashed tab stays what it is (``guarded``
    names it); anything else (a Grid or cloud that blocks DevTools) is this device refusing motion."""
    if lost_cause(exc) or crash_cause(exc):
        return exc
    return DeviceError(f"the browser refused DevTools sensor overrides: {(exc.msg or str(exc)).strip()[:150]}")


class WebDevice(DriverDevice):
    """A Chromium phone over an Appium session. Build it with ``WebDevice.connect``."""

    platform = "web"

    def __init__(self, profile: DeviceProfile, driver, *, user_data_dir: str | None = None) -> None:
        super().__init__(profile, driver)
        self.user_data_dir = user_data_dir
        self.app_url: str | None = None
        self._pixel_ratio: float | None = None
        self._fast_screenshots = True
        self.appium_url: str | None = None
        self.timeout_s = 60.0
        self.extra_capabilities: dict = {}
        self._motion_rest = None           # the resting reading the next launch's sensors start from
        self._motion_pool: ThreadPoolExecutor | None = None
        self._adopt(driver)

    def _adopt(self, driver) -> None:
        # chromedriver's DevTools passthrough; Appium's Chromium driver and Selenium Grid forward it.
        driver.command_executor.add_command(_CDP_COMMAND, "POST", "/session/$sessionId/goog/cdp/execute")

    @classmethod
    def connect(cls, profile: DeviceProfile, appium_url: str, *, timeout_s: float = 60.0,
                capabilities: dict | None = None) -> WebDevice:
        """Open a session on ``appium_url`` with a fresh Chromium profile directory (``capabilities``
        add to the profile's)."""
        driver, user_data_dir = _new_session(profile, appium_url, timeout_s, capabilities)
        device = cls(profile, driver, user_data_dir=user_data_dir)
        device.extra_capabilities = dict(capabilities or {})
        device.appium_url, device.timeout_s, device.server = appium_url, timeout_s, server_label(appium_url)
        return device

    def unstick(self, why: str) -> None:
        """A new browser: ending the wedged session is what makes its pending command come back."""
        if self.appium_url is None:
            super().unstick(why)
        # Where Appium runs here, the stuck browser is ended first: chromedriver would otherwise hold
        # the session's end for some 50 s more. (Elsewhere the session's end is waited for.)
        for pid in pids_with_argument(f"--user-data-dir={self.user_data_dir}") if self.user_data_dir else []:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            self._restart_session()
        except DeviceError as exc:
            raise DeviceLost(f"{self.server} stopped answering during {self.moment} ({why}); "
                             f"a new browser could not be had: {exc}"[:300]) from exc

    def _restart_session(self) -> None:
        """A new browser for a crashed tab: chromedriver answers nothing but "tab crashed" for it."""
        old_dir = self.user_data_dir
        super().close()
        if old_dir:
            shutil.rmtree(old_dir, ignore_errors=True)
        self.driver, self.user_data_dir = _new_session(self.profile, self.appium_url, self.timeout_s,
                                                       self.extra_capabilities)
        self._adopt(self.driver)
        self._pixel_ratio = None

    @property
    def pixel_ratio(self) -> float:
        """Device px per CSS px, as the page reports it (``devicePixelRatio``)."""
        if self._pixel_ratio is None:
            self._pixel_ratio = float(self.driver.execute_script("return window.devicePixelRatio") or 1.0)
        return self._pixel_ratio

    def cold_launch(self, app: str) -> None:
        """Close extra windows, clear cookies and storage, load ``app`` (a URL) afresh."""
        self.app_url = app
        try:
            self._close_extra_windows()
            self.driver.get("about:blank")       # stops the old page's timers before clearing
        except WebDriverException as exc:
            # After a tab crash chromedriver answers "tab crashed", or, when it has already dropped the
            # crashed page's session, "invalid session id": either way the app's page died, not Appium.
            after_crash = crash_cause(exc) or (self.page_crashed and isinstance(exc, InvalidSessionIdException))
            if not after_crash or self.appium_url is None:
                raise
            self._restart_session()              # the last launch crashed the tab: start afresh
        self.page_crashed = False
        self._clear_browsing_data(origin_of(app))
        if self._motion_rest is not None:    # after a session restart too: the overrides are the browser's
            self._override_sensors(self._motion_rest)
        self.driver.get(app)

    def _close_extra_windows(self) -> None:
        handles = self.driver.window_handles
        for handle in handles[1:]:
            self.driver.switch_to.window(handle)
            self.driver.close()
        self.driver.switch_to.window(handles[0])

    def _clear_browsing_data(self, origin: str) -> None:
        """Cookies, cache and every storage of ``origin`` (CDP), else cookies + Web Storage (WebDriver)."""
        try:
            self._cdp("Network.clearBrowserCookies", {})
            self._cdp("Network.clearBrowserCache", {})
            self._cdp("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
            return
        except WebDriverException:
            pass
        self.driver.get(origin + "/")
        self.driver.delete_all_cookies()
        self.driver.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")

    def _cdp(self, cmd: str, params: dict) -> dict:
        executor = self.driver.command_executor
        executor.add_command("splashauditCdp", "POST", "/session/$sessionId/goog/cdp/execute")
        return self.driver.execute("splashauditCdp", {"cmd": cmd, "params": params})["value"]

    def _cdp_call(self, cmd: str, params: dict) -> dict:
        return self.driver.execute(_CDP_COMMAND, {"cmd": cmd, "params": params})["value"]

    def motion_support(self) -> str | None:
        return "DevTools sensor overrides (Emulation.setSensorOverrideReadings)"

    def motion_arm(self, rest) -> None:
        """Sensors for the next launch, resting at ``rest``: set as the page is loaded (``cold_launch``)."""
        self._motion_rest = rest

    def _override_sensors(self, rest) -> None:
        try:
            for sensor in MOTION_SENSORS:
                self._cdp_call("Emulation.setSensorOverrideEnabled",
                               {"enabled": True, "type": sensor, "metadata": {"available": True}})
        except WebDriverException as exc:
            raise _refused(exc) from exc
        self.motion_set(rest)

    def motion_set(self, reading) -> None:
        """The three sensors' readings, sent at once: one after the other, a reading took three round
        trips through Appium and chromedriver (about 24 ms on a quiet machine, 130-290 ms on a
        loaded one); side by side they overlap, about twice as many readings a second."""
        if self._motion_pool is None:
            self._motion_pool = ThreadPoolExecutor(len(MOTION_SENSORS), thread_name_prefix="motion")
        sends = [self._motion_pool.submit(self._cdp_call, "Emulation.setSensorOverrideReadings",
                                          {"type": sensor, "reading": {"xyz": dict(zip("xyz", (round(v, 4) for v in xyz)))}})
                 for sensor, xyz in zip(MOTION_SENSORS, (reading.accel, reading.linear, reading.gyro_rad_s))]
        try:
            for send in sends:
                send.result()
        except WebDriverException as exc:
            raise _refused(exc) from exc

    def motion_disarm(self) -> None:
        if self._motion_rest is None:
            return
        self._motion_rest = None
        for sensor in MOTION_SENSORS:
            self._cdp_call("Emulation.setSensorOverrideEnabled", {"enabled": False, "type": sensor})

    def foreground(self) -> Foreground:
        url = self._document_url()
        if url.startswith("chrome-error:"):
            raise AppCrashed(f"the app's page became the browser's error page ({self.driver.current_url[:120]})")
        return Foreground(platform="web", identity=url, package=origin_of(url),
                          window_count=len(self.driver.window_handles))

    def _document_url(self) -> str:
        """The page's own URL. Chromium shows a failed load as chrome-error://chromewebdata/ while
        WebDriver's current URL is the one that failed, which would pass for a jump to another origin."""
        try:
            return str(self.driver.execute_script("return document.URL"))
        except JavascriptException:
            return self.driver.current_url

    def screenshot_png(self) -> bytes:
        """The viewport as PNG, encoded for speed when Chromium's DevTools endpoint is reachable.

        Sampling at 5 frames a second, screenshots are most of what a check costs Chromium (about
        130 ms of CPU each at 1082 x 2402); DevTools' fast PNG encoding is lossless and a third
        cheaper. Where the endpoint is not offered (a cloud grid may block it) the W3C call is used.
        """
        return self._capture({"format": "png", "optimizeForSpeed": True})

    def frame_bytes(self) -> bytes:
        """The viewport as a JPEG (DevTools), for watching; PNG where DevTools is not offered.

        A photo-like ad does not compress: its PNG was 2.4 MB and 0.35-0.45 s a screenshot here, too
        slow to tap a 3 s ad. JPEG at quality FRAME_JPEG_QUALITY is a fraction of that, and the
        analyzer reads JPEG-90 screens as well as PNG (README, "What has been measured").
        """
        return self._capture({"format": "jpeg", "quality": FRAME_JPEG_QUALITY, "optimizeForSpeed": True})

    @property
    def frames_from(self) -> str:
        """Where watched frames come from (reported with a check's result and by doctor)."""
        return "DevTools JPEG (Page.captureScreenshot)" if self._fast_screenshots else \
            "screenshots (PNG): DevTools not offered"

    def _capture(self, params: dict) -> bytes:
        """``Page.captureScreenshot`` with ``params``; the W3C PNG screenshot where DevTools is not offered."""
        if self._fast_screenshots:
            try:
                reply = self.driver.execute(_CDP_COMMAND, {"cmd": "Page.captureScreenshot", "params": params})
                return base64.b64decode(reply["value"]["data"])
            except (WebDriverException, KeyError, TypeError, ValueError):
                self._fast_screenshots = False
        return self.driver.get_screenshot_as_png()

    def page_source(self) -> str | None:
        return self.driver.page_source

    def tap(self, x_px: float, y_px: float) -> None:
        self._tap_scaled(x_px, y_px, self.pixel_ratio)

    def display_info(self) -> DisplayInfo:
        # screen.* is the emulated phone's screen; innerWidth is the layout viewport, which is 980 CSS
        # px on a page without a viewport meta tag (about:blank included).
        css = self.driver.execute_script(
            "return [window.screen.width, window.screen.height, window.devicePixelRatio]")
        width_css, height_css, ratio = (float(v) for v in css)
        return DisplayInfo(width_px=int(width_css * ratio + 0.5), height_px=int(height_css * ratio + 0.5),
                           density=ratio, source="window.screen x devicePixelRatio")

    def app_running(self) -> bool:
        """The app's origin is in the (only) window."""
        if self.app_url is None:
            return False
        try:
            now = self.foreground()
        except WebDriverException:
            return False
        return now.package == origin_of(self.app_url) and now.window_count == 1

    def close(self) -> None:
        if self._motion_pool is not None:
            self._motion_pool.shutdown(wait=True)
            self._motion_pool = None
        super().close()
        if self.user_data_dir:
            shutil.rmtree(self.user_data_dir, ignore_errors=True)
            self.user_data_dir = None

    def element_box(self, css_selector: str) -> Box | None:
        """Where the first element matching ``css_selector`` is drawn, in screenshot px (None if absent).

        For tests and debugging only: the checker judges from screenshots, not from the DOM.
        """
        rect = self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); if (!e) return null;"
            "const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];", css_selector)
        if not rect:
            return None
        ratio = self.pixel_ratio
        return Box.from_points(*(float(v) * ratio for v in rect))
