"""The device interface the live checker drives: launch an app, look at the screen, tap, see where we are.

Coordinates are screenshot pixels (``x_px``, ``y_px``) on every platform; each adapter converts them
to what its driver wants (CSS px on the web, points on iOS). Times are seconds (``timeout_s``).

A *jump* is the app losing the foreground to something else after a tap: another app, a browser, an
app store, an ad SDK's landing activity, or on the web another origin or a new window. System
permission prompts are not jumps (they are what PERMISSION_PURPOSE looks at).
"""

from __future__ import annotations

import abc
import base64
import math
import time
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from selenium.common.exceptions import WebDriverException

from crawler.devices.faults import (AppCrashed, AppMissing, DeviceError, DeviceLost,  # noqa: F401 (re-export)
                                    DeviceStalled,
                                    crash_cause, first_line, guarded, lost_cause, server_label)
from crawler.profiles import DeviceProfile

Platform = Literal["android", "ios", "web"]
#: Appium's app states (``query_app_state``): 0 not installed, 1 not running, 3 background, 4 foreground.
APP_STATE_NOT_RUNNING = 1
APP_STATE_FOREGROUND = 4
JumpKind = Literal["none", "unknown", "other_app", "browser", "store", "ad_activity", "other_origin",
                   "new_window"]
#: How long a launched app may take to come to the front before the launch counts as failed.
LAUNCH_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Foreground:
    """What is in front right now.

    ``identity`` is a readable one-line id: ``package/activity`` (Android), the bundle id (iOS) or the
    current URL (web). ``package`` is what owns the screen: Android package, iOS bundle id, or the web
    page's origin (scheme://host:port). ``window_count`` counts browser windows/tabs (1 on phones).
    An empty ``package`` means the device did not say (appium-adb gives a null package while a window
    transition runs or the lock screen shows): unknown, never a jump, never proof of staying either.
    """

    platform: Platform
    identity: str
    package: str
    activity: str | None = None
    window_count: int = 1

    @classmethod
    def unknown(cls, platform: Platform, why: str) -> Foreground:
        return cls(platform=platform, identity=f"unknown ({why})", package="")

    @property
    def known(self) -> bool:
        return bool(self.package)

    def jump_since(self, baseline: Foreground) -> Jump:
        """Whether moving from ``baseline`` (taken in the app right after launch) to here is a jump."""
        return detect_jump(baseline, self)


@dataclass(frozen=True)
class Jump:
    """The outcome of comparing a foreground with the app's baseline."""

    jumped: bool
    kind: JumpKind
    detail: str

    def __bool__(self) -> bool:
        return self.jumped


@dataclass(frozen=True)
class DisplayInfo:
    """The screen as the device reports it: size in px and density in px per dp (iOS: scale)."""

    width_px: int
    height_px: int
    density: float | None
    source: str                     # where the numbers came from, e.g. "mobile: deviceInfo"
    #: System bars as the device reports them (their frames, shown or hidden: a cutout stays), in dp;
    #: None where the device does not say (the profile's guess is used then).
    status_bar_dp: float | None = None
    gesture_bar_dp: float | None = None
    bars_source: str | None = None


CANNOT_SHAKE = "this device cannot be shaken by the tool"

# Android packages that are not the app but also not a jump: system dialogs and the permission prompt.
SYSTEM_PACKAGES = frozenset({
    "com.android.permissioncontroller", "com.google.android.permissioncontroller",
    "com.android.packageinstaller", "com.google.android.packageinstaller", "com.android.systemui",
    "com.apple.springboard",
})
STORE_PACKAGES = frozenset({
    "com.android.vending", "com.huawei.appmarket", "com.xiaomi.market", "com.oppo.market",
    "com.heytap.market", "com.bbk.appstore", "com.tencent.android.qqdownloader", "com.meizu.mstore",
    "com.hihonor.appmarket", "com.sec.android.app.samsungapps", "com.apple.AppStore",
})
BROWSER_PACKAGES = frozenset({
    "com.android.chrome", "com.android.browser", "com.huawei.browser", "com.UCMobile", "com.tencent.mtt",
    "com.heytap.browser", "com.coloros.browser", "com.vivo.browser", "com.mi.globalbrowser",
    "com.sec.android.app.sbrowser", "org.mozilla.firefox", "com.quark.browser", "com.apple.mobilesafari",
})
# Substrings of activity names that belong to ad SDKs' landing/download pages inside the app's process:
# Pangle/CSJ (openadsdk), GDT (com.qq.e.ads), Kuaishou (com.kwad), Baidu (mobads), Sigmob, AdMob.
AD_ACTIVITY_MARKERS = ("openadsdk", "com.bytedance.sdk", "com.qq.e.ads", "com.kwad", "mobads", "sigmob",
                       "com.google.android.gms.ads", "landingpage", "adwebview", "adactivity")


def classify_package(package: str) -> JumpKind:
    if package in STORE_PACKAGES:
        return "store"
    if package in BROWSER_PACKAGES:
        return "browser"
    return "other_app"


def detect_jump(baseline: Foreground, now: Foreground) -> Jump:
    """Compare ``now`` with the app's ``baseline`` foreground; see the module docstring for "jump"."""
    if not now.known or not baseline.known:
        return Jump(False, "unknown", f"who is in front is not known: {(now if not now.known else baseline).identity}")
    if now.window_count > baseline.window_count:
        return Jump(True, "new_window", f"{now.window_count} windows, was {baseline.window_count}")
    if now.package != baseline.package:
        if now.platform == "web":
            return Jump(True, "other_origin", f"{now.package} is not the app's origin {baseline.package}")
        if now.package in SYSTEM_PACKAGES:
            return Jump(False, "none", f"system UI in front: {now.package}")
        kind = classify_package(now.package)
        return Jump(True, kind, f"{now.package} ({kind.replace('_', ' ')}) replaced {baseline.package}")
    activity = (now.activity or "").lower()
    if activity != (baseline.activity or "").lower() and any(m in activity for m in AD_ACTIVITY_MARKERS):
        return Jump(True, "ad_activity", f"ad landing activity {now.activity}")
    return Jump(False, "none", f"still in {now.package}")


def decode_png(png: bytes) -> np.ndarray:
    """A PNG (or JPEG) screenshot as a BGR ``uint8`` image (height x width x 3)."""
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DeviceError("the device returned a screenshot that is not a decodable image")
    return image


class Device(abc.ABC):
    """One phone (or the Chromium phone) under test; use as a context manager to close it.

    ``app`` arguments are what the platform launches: an Android package (or ``package/activity``),
    an iOS bundle id, or a URL on the web.
    """

    platform: Platform
    profile: DeviceProfile
    #: Who answers for the device and what we were doing, for the one line a lost device gets
    #: ("Appium at 127.0.0.1:4723 stopped answering during launch 2 (close)"); callers set ``moment``.
    server: str = "the device server"
    moment: str = "setup"
    #: When the frame the last ``frame_bytes()`` gave was taken at the earliest (``time.monotonic()``),
    #: where that is before it was asked for (a frame of a stream); None: taken once asked for.
    frame_taken_after_s: float | None = None

    #: The calls of this interface; in every subclass each is wrapped by ``faults.guarded``.
    CALLS = ("cold_launch", "foreground", "launch_foreground", "screenshot_png", "frame_bytes", "page_source",
             "tap", "display_info", "app_running", "element_box", "motion_arm", "motion_set", "motion_disarm",
             "start_screen_recording", "stop_screen_recording")
    #: What SHAKE_JUMP says of a device whose motion sensors the tool cannot feed.
    cannot_shake = CANNOT_SHAKE

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.CALLS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__isabstractmethod__", False) \
                    and not getattr(method, "__guarded__", False):
                setattr(cls, name, guarded(method))

    @abc.abstractmethod
    def cold_launch(self, app: str) -> None:
        """Terminate ``app`` if it runs and start it afresh; returns once the launch was issued."""

    @abc.abstractmethod
    def foreground(self) -> Foreground:
        """What is in front now."""

    def launch_foreground(self) -> Foreground:
        """The app in front right after ``cold_launch``: the baseline jumps are judged against."""
        return self.foreground()

    @abc.abstractmethod
    def screenshot_png(self) -> bytes:
        """A screenshot of the whole screen as PNG bytes, in device pixels."""

    def frame_bytes(self) -> bytes:
        """A screenshot for watching, encoded as the device gives it fastest (JPEG or PNG)."""
        return self.screenshot_png()

    def screenshot(self) -> np.ndarray:
        """A screenshot as a BGR image (height x width x 3), in device pixels."""
        return decode_png(self.screenshot_png())

    @abc.abstractmethod
    def page_source(self) -> str | None:
        """The view hierarchy (Android/iOS XML, web DOM), or None when the device cannot give one."""

    @abc.abstractmethod
    def tap(self, x_px: float, y_px: float) -> None:
        """One short touch at screenshot pixel (x_px, y_px), as a W3C pointer action (pointer type touch)."""

    @abc.abstractmethod
    def display_info(self) -> DisplayInfo:
        """Screen size and density as the device reports them."""

    @abc.abstractmethod
    def app_running(self) -> bool:
        """True while the last launched app is running in the foreground."""

    @abc.abstractmethod
    def close(self) -> None:
        """End the session and free what it holds. Safe to call more than once."""

    def unstick(self, why: str) -> None:
        """Free a device whose last command never came back (``DeviceStalled``) for the next launch.
        Here it cannot be: the device is lost. The Chromium phone starts a new browser."""
        raise DeviceLost(f"{self.server} stopped answering during {self.moment} ({why})")

    # -- motion input (the shake probe); a device that cannot take it keeps these defaults ----------
    def motion_support(self) -> str | None:
        """How motion readings reach the app on this device, or None when the tool cannot shake it
        (then ``cannot_shake`` says why)."""
        return None

    def motion_arm(self, rest) -> None:
        """Give the app motion sensors holding ``rest`` (a ``crawler.live.motion.Reading``) from its
        next launch on: a page sees no ``devicemotion`` unless they are there before it loads."""
        raise DeviceError(self.cannot_shake)

    def motion_set(self, reading) -> None:
        """What the motion sensors read from now on (until the next reading)."""
        raise DeviceError(self.cannot_shake)

    def motion_disarm(self) -> None:
        """Hand the sensors back (the next launches see none, or the device's own)."""

    # -- the device's own screen recorder (``check --record``); a device without one keeps these ----
    #: What records the screen, or None: the watcher's own screenshots are then the recording.
    screen_recorder: str | None = None

    def start_screen_recording(self, time_limit_s: float) -> None:
        """Start the device's recorder; it stops by itself after ``time_limit_s``."""
        raise DeviceError("this device has no screen recorder of its own")

    def stop_screen_recording(self) -> bytes:
        """Stop the recorder; the video it made (MP4 as the device writes it)."""
        raise DeviceError("this device has no screen recorder of its own")

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class DriverDevice(Device):
    """A device behind a WebDriver session: what every adapter shares about the session itself."""

    def __init__(self, profile: DeviceProfile, driver) -> None:
        self.profile = profile
        self.driver = driver
        self._in_front: Foreground | None = None    # the app, as it came to the front at launch
        # Set by faults.guarded when a call found the app crashed: the session's next cold launch may
        # find the crashed page's session gone, and may start a new one (WebDevice does).
        self.page_crashed = False

    @classmethod
    def _open_appium_session(cls, profile: DeviceProfile, server_url: str, options, automation: str, **kwargs):
        """A new Appium session (appium-python-client) with ``options``, as this adapter (``kwargs`` go
        to its constructor)."""
        from appium import webdriver as appium_webdriver

        try:
            device = cls(profile, appium_webdriver.Remote(server_url, options=options), **kwargs)
        except Exception as exc:      # refused, reset, MaxRetryError, session not created: one line
            raise session_failed(exc, automation, server_url) from exc
        device.server = server_label(server_url)
        return device

    def _app_state(self, app_id: str) -> int:
        """``mobile: queryAppState`` (both drivers; UiAutomator2 reads ``appId``, XCUITest ``bundleId``)."""
        return int(self.driver.execute_script("mobile: queryAppState", {"appId": app_id, "bundleId": app_id}))

    def _check_alive(self, app_id: str | None, in_front: str) -> None:
        """``AppCrashed`` when another package is in front because the app's process is gone (a crash
        drops to the launcher or a crash dialog, which would otherwise pass for a jump to another app).
        An unknown front (empty) proves nothing and is not asked about."""
        if app_id and in_front and in_front != app_id and self._app_state(app_id) <= APP_STATE_NOT_RUNNING:
            raise AppCrashed(f"the app {app_id} is no longer running ({in_front} in front)")

    def launch_foreground(self) -> Foreground:
        return self._in_front or self.foreground()

    def _look(self, check_alive: bool) -> Foreground:
        """Who is in front (phones), asking whether the app is alive when another app is."""
        raise NotImplementedError

    def _wait_in_front(self, app_id: str, timeout_s: float = LAUNCH_TIMEOUT_S) -> Foreground:
        """Wait until ``app_id`` is in front after a launch that returned at once (no ``-W``, no idle wait).

        Its first window is the baseline jumps are judged against; a launcher still in front when the
        launch command returned would otherwise be the baseline and the app coming up a "jump". A
        system prompt over the app (a permission asked at start) counts as the app in front.
        """
        deadline, now = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            # Not asked whether the app is alive: right after the launch command its process may
            # not be listed yet, and the launcher in front would pass for a crash.
            now = self._look(check_alive=False)
            if now.package == app_id:
                return now
            if now.package in SYSTEM_PACKAGES and self._app_state(app_id) > APP_STATE_NOT_RUNNING:
                return Foreground(self.platform, app_id, app_id)
            time.sleep(0.05)
        if self._app_state(app_id) <= APP_STATE_NOT_RUNNING:
            raise AppCrashed(f"the app {app_id} exited right after its launch ({now.identity if now else '?'} "
                             f"in front)")
        raise DeviceError(f"the app {app_id} did not come to the front within {timeout_s:g} s after its launch "
                          f"({now.identity if now else '?'} in front)")

    def _launch_failed(self, app_id: str, exc: Exception) -> Exception:
        """What a failed launch command means: ``AppMissing`` when the app is not installed (then no
        launch can work), else a one-line ``DeviceError`` (that launch is inconclusive)."""
        if lost_cause(exc) or crash_cause(exc) or not isinstance(exc, WebDriverException):
            return exc                # guarded() names what died
        try:
            installed = self.driver.execute_script("mobile: isAppInstalled", {"appId": app_id, "bundleId": app_id})
        except WebDriverException:
            installed = None
        if installed is False:
            return AppMissing(f"{app_id} is not installed on the device ({first_line(exc)})")
        return DeviceError(f"could not launch {app_id}: {first_line(exc)}")

    def page_source(self) -> str | None:
        """The view hierarchy, or None when the driver refuses it: the screen is then judged from its
        pixels alone."""
        try:
            return self.driver.page_source
        except WebDriverException:
            return None

    def _tap_scaled(self, x_px: float, y_px: float, px_per_unit: float) -> None:
        """Tap at screenshot px, given how many px make one of the driver's units (CSS px, points)."""
        try:
            w3c_tap(self.driver, x_px / px_per_unit, y_px / px_per_unit)
        except WebDriverException as exc:
            if lost_cause(exc) or crash_cause(exc):
                raise                 # not the tap's fault: guarded() names what died
            raise DeviceError(f"tap at ({x_px:.0f}, {y_px:.0f}) px was not delivered: {exc.msg}") from exc

    def close(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            try:
                driver.quit()
            except Exception as exc:  # noqa: BLE001 - a dead server cannot end its session; nothing to do
                if not is_driver_failure(exc):
                    raise


class AppiumScreenRecorder:
    """The phone's own recorder behind Appium's ``start_recording_screen``: UiAutomator2 runs Android's
    ``screenrecord``, XCUITest WebDriverAgent's screen stream through ffmpeg; the video comes back in
    base64 when it stops. A mixin for ``DriverDevice`` adapters; RECORDING_OPTIONS are the driver's own."""

    RECORDING_OPTIONS: dict = {}

    @guarded
    def start_screen_recording(self, time_limit_s: float) -> None:
        # forceRestart: a recording left running by an earlier session is dropped, not handed back
        self.driver.start_recording_screen(timeLimit=max(1, math.ceil(time_limit_s)), forceRestart=True,
                                           **self.RECORDING_OPTIONS)

    @guarded
    def stop_screen_recording(self) -> bytes:
        encoded = self.driver.stop_recording_screen()
        video = base64.b64decode(encoded or b"")
        if not video:
            raise DeviceError("the screen recorder handed back no video")
        return video


def is_driver_failure(exc: BaseException) -> bool:
    """A WebDriver or OS error, or a transport failure (urllib3's are neither): the server's doing."""
    return isinstance(exc, (WebDriverException, OSError)) or lost_cause(exc) is not None


def session_failed(exc: Exception, automation: str, appium_url: str) -> Exception:
    """What to raise when no session could be started: one line, ``DeviceLost`` when the server is gone
    (it will not be back by the next launch), ``exc`` itself when it is no driver failure (a bug)."""
    if not is_driver_failure(exc):
        return exc
    text = first_line(exc)
    kind = DeviceLost if lost_cause(exc) else DeviceError
    return kind(f"could not start a {automation} session on {appium_url}: {text}")


def w3c_tap(driver, x: float, y: float, *, hold_s: float = 0.05) -> None:
    """Tap at (x, y) in the driver's own coordinates with a W3C touch pointer (down, short hold, up)."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    finger = PointerInput(interaction.POINTER_TOUCH, "finger")
    actions = ActionBuilder(driver, mouse=finger, duration=0)
    actions.pointer_action.move_to_location(int(round(x)), int(round(y)))
    actions.pointer_action.pointer_down().pause(hold_s).pointer_up()
    actions.perform()
