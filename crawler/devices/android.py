"""An Android phone or emulator over Appium UiAutomator2.

The app is a package name (``com.example.shop``) or a component (``com.example.shop/.SplashActivity``).
Screenshots, taps and the display are all in physical pixels; density is densityDpi / 160.
``appium:autoGrantPermissions`` is forced off so that permission prompts stay visible.

How a real phone is asked, and why (driver sources: appium-uiautomator2-driver 8.7, appium-android-driver
14.2, appium-adb 16.0):

- Launch as the launcher does. A bare package goes through ``mobile: activateApp``, which appium-adb
  runs as ``am start-activity -a MAIN -c LAUNCHER -f 0x10200000 -n <launchable activity>`` (no ``-W``);
  a given activity gets the same intent through ``mobile: startActivity`` (``wait`` off), so a splash that
  branches on how it was started sees what a user's tap gives it, and t=0 is the same on both paths.
  Neither waits for the app, so the adapter waits until its window is in front (that is the baseline).
- Before each cold launch the app's runtime permissions are revoked (``mobile: changePermissions``,
  ``permissions: "all"``, ``action: "revoke"``): with ``noReset`` Android keeps what the last run granted
  and would never ask again. ``reset="data"`` clears the app instead (``mobile: clearApp``, ``pm clear``:
  also forgets a "don't ask again" and logs the user out); ``reset="none"`` leaves it as it is.
- Who is in front: one ``dumpsys window`` per look (``mobile: shell``, needs Appium's
  ``--allow-insecure=uiautomator2:adb_shell``), package and activity from the same output, parsed as
  appium-adb's ``getFocusedPackageAndActivity`` does. ``current_package`` and ``current_activity`` run
  one dumpsys each and can disagree across a transition. A null focus (transition, lock screen) is
  "unknown", never a jump. Without adb_shell only the package is read (``mobile: getCurrentPackage``):
  ad SDK landing activities inside the app are then not told apart.
- Frames come from the session's MJPEG stream (``appium:mjpegServerPort``) at full size and JPEG
  quality 90 (UiAutomator2's defaults are half size, quality 50); screenshots where there is none.
"""

from __future__ import annotations

import re
import urllib.parse

from selenium.common.exceptions import WebDriverException

from crawler.appium_server import free_port
from crawler.devices.base import (APP_STATE_FOREGROUND, AppiumScreenRecorder, DeviceError, DisplayInfo, DriverDevice,
                                  Foreground, crash_cause, decode_png, first_line, lost_cause)
from crawler.devices.mjpeg import MjpegStream, stream_url
from crawler.profiles import DeviceProfile

DP_DENSITY = 160.0
#: What a tap on the launcher icon sends: MAIN/LAUNCHER, FLAG_ACTIVITY_NEW_TASK |
#: FLAG_ACTIVITY_RESET_TASK_IF_NEEDED (appium-adb ``activateApp``).
LAUNCHER_INTENT = {"action": "android.intent.action.MAIN", "categories": "android.intent.category.LAUNCHER",
                   "flags": "0x10200000"}
#: UiAutomator2's terminateApp waits 500 ms by default and then fails ("still running after 500ms
#: timeout"); a phone busy with a splash video can take longer to let go.
TERMINATE_TIMEOUT_MS = 3000
#: The MJPEG stream as frames need it: full size, the JPEG quality the analyzer is measured on.
MJPEG_SETTINGS = {"mjpegScalingFactor": 100, "mjpegServerScreenshotQuality": 90, "mjpegServerFramerate": 10}
MJPEG_FIRST_FRAME_S = 3.0
#: How long a frame waits for the stream's next one (10 a second); a stream that sends none for this
#: long has stalled and screenshots take over. A tap waiting for the device waits about one frame
#: interval for the sampler (a PNG screenshot over adb takes longer).
MJPEG_NEXT_FRAME_S = 1.0
RESETS = ("permissions", "data", "none")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

# appium-adb ``getFocusedPackageAndActivity`` (lib/tools/app-commands.ts), in Python.
_FOCUSED_APP = re.compile(r"^\s*mFocusedApp.+Record\{.*\s([^\s/}]+)/([^\s/},]+),?(\s[^\s/}]+)*\}", re.M)
_CURRENT_FOCUS = re.compile(r"^\s*mCurrentFocus.+\{.+\s([^\s/]+)/([^\s]+)\b", re.M)
_NULL_FOCUS = re.compile(r"^\s*(mFocusedApp|mCurrentFocus)=null", re.M)
#: How Appium's Android driver tells an emulator (``isEmulator``): an ``avd`` capability, or a udid
#: such as ``emulator-5554``. ``mobile: sensorSet`` refuses anything else.
_EMULATOR = re.compile(r"\bemulator\b", re.IGNORECASE)


def split_app(app: str) -> tuple[str, str | None]:
    """``package/activity`` -> (package, activity); a bare package gives (package, None)."""
    package, _, activity = app.partition("/")
    return package, activity or None


def parse_focus(dumpsys: str) -> tuple[str, str] | None:
    """(package, activity) in front from ``dumpsys window`` output; None for a null focus (unknown).

    ``ValueError`` when the output says nothing about focus (appium-adb throws "Could not retrieve the
    currently focused package and activity" then).
    """
    focused = [(m.group(1), m.group(2)) for m in _FOCUSED_APP.finditer(dumpsys)]
    current = [(m.group(1), m.group(2)) for m in _CURRENT_FOCUS.finditer(dumpsys)]
    if len(focused) > 1 and current:      # several displays: the one focused on both counts
        packages = {p for p, _ in current}
        return next((f for f in focused if f[0] in packages), focused[0])
    if focused or current:
        return (focused or current)[0]
    if _NULL_FOCUS.search(dumpsys):
        return None
    raise ValueError("no focused window in the dumpsys output")


def android_capabilities(profile: DeviceProfile, extra: dict | None = None, appium_url: str | None = None) -> dict:
    caps = {**profile.capabilities, **(extra or {})}
    caps.setdefault("platformName", "Android")
    caps.setdefault("appium:automationName", "UiAutomator2")
    caps["appium:autoGrantPermissions"] = False
    host = urllib.parse.urlsplit(appium_url).hostname if appium_url else None
    if host in LOOPBACK_HOSTS and not caps.get("appium:mjpegScreenshotUrl"):
        caps.setdefault("appium:mjpegServerPort", free_port())    # adb forwards it on this host
    return caps


class AndroidDevice(AppiumScreenRecorder, DriverDevice):
    """An Android device; ``driver`` is an appium-python-client WebDriver (or a stand-in for tests)."""

    platform = "android"
    MAP_DRIVER_ERRORS = True
    screen_recorder = "the phone's screenrecord (UiAutomator2 start_recording_screen)"

    def __init__(self, profile: DeviceProfile, driver, *, appium_url: str | None = None,
                 reset: str = "permissions") -> None:
        super().__init__(profile, driver)
        if reset not in RESETS:
            raise ValueError(f"reset must be one of {', '.join(RESETS)}, got {reset!r}")
        self.package: str | None = None
        self.reset = reset
        self.appium_url = appium_url
        self.frames_from = "screenshots (PNG)"
        #: When the frame frame_bytes() gave was taken at the earliest (monotonic), where that is
        #: before it was asked for (a streamed frame); None for a screenshot, taken once asked for.
        self.frame_taken_after_s: float | None = None
        self._stream: MjpegStream | None = None
        self._stream_tried = False
        self._shell = True                  # adb_shell allowed, until the server says it is not
        self._dumpsys_target: str | None = None

    @classmethod
    def connect(cls, profile: DeviceProfile, appium_url: str, *, capabilities: dict | None = None,
                reset: str = "permissions") -> AndroidDevice:
        from appium.options.android import UiAutomator2Options

        options = UiAutomator2Options().load_capabilities(android_capabilities(profile, capabilities, appium_url))
        return cls._open_appium_session(profile, appium_url, options, "UiAutomator2", appium_url=appium_url,
                                        reset=reset)

    # -- launching --------------------------------------------------------------------------------
    def cold_launch(self, app: str) -> None:
        """Stop the app, reset what the user asked for, start it as the launcher does, wait for it."""
        package, activity = split_app(app)
        self.package, self._in_front = package, None
        try:
            self.driver.execute_script("mobile: terminateApp", {"appId": package, "timeout": TERMINATE_TIMEOUT_MS})
            self._reset_state(package)
            self._start(package, activity)
        except WebDriverException as exc:
            raise self._launch_failed(package, exc) from exc
        self._in_front = self._wait_in_front(package)

    def _reset_state(self, package: str) -> None:
        if self.reset == "permissions":
            self.driver.execute_script("mobile: changePermissions",
                                       {"permissions": "all", "appPackage": package, "action": "revoke"})
        elif self.reset == "data":
            self.driver.execute_script("mobile: clearApp", {"appId": package})

    def _start(self, package: str, activity: str | None) -> None:
        if activity is None:
            self.driver.execute_script("mobile: activateApp", {"appId": package})
            return
        component = f"{package}/{activity}"
        out = self.driver.execute_script("mobile: startActivity", {"component": component, "wait": False,
                                                                   **LAUNCHER_INTENT})
        # `am start-activity` reports a bad component on its output, not as an error (appium-adb startApp).
        error = re.search(r"^Error.*$", out, re.M) if isinstance(out, str) else None
        if error:
            raise WebDriverException(f"am start-activity {component}: {error.group(0)}")

    # -- looking ----------------------------------------------------------------------------------
    def foreground(self) -> Foreground:
        """Who is in front, from one query; unknown (never a jump) when the device cannot say."""
        return self._look(check_alive=True)

    def _look(self, check_alive: bool) -> Foreground:
        try:
            focus = self._focus()
        except WebDriverException as exc:
            if lost_cause(exc) or crash_cause(exc):
                raise
            return Foreground.unknown("android", first_line(exc))
        except ValueError as exc:
            return Foreground.unknown("android", str(exc))
        if focus is None:
            return Foreground.unknown("android", "no window has focus (a transition or the lock screen)")
        package, activity = focus
        if check_alive:
            self._check_alive(self.package, package)
        identity = f"{package}/{activity}" if activity else package
        return Foreground(platform="android", identity=identity, package=package, activity=activity)

    def _focus(self) -> tuple[str, str | None] | None:
        if self._shell:
            try:
                return parse_focus(self._dumpsys_window())
            except WebDriverException as exc:
                if "adb_shell" not in (exc.msg or ""):
                    raise
                self._shell = False     # not allowed on this server: the package alone, one call
        package = self.driver.execute_script("mobile: getCurrentPackage")
        return (str(package), None) if package else None

    def _dumpsys_window(self) -> str:
        """``dumpsys window displays`` (API 29+) or ``windows`` (older), as appium-adb ``dumpWindows``."""
        if self._dumpsys_target is None:
            try:
                api = int((self.driver.execute_script("mobile: deviceInfo") or {}).get("apiVersion", 29))
            except (WebDriverException, TypeError, ValueError):
                api = 29
            self._dumpsys_target = "displays" if api >= 29 else "windows"
        return str(self.driver.execute_script("mobile: shell", {"command": "dumpsys",
                                                                "args": ["window", self._dumpsys_target]}))

    def screenshot_png(self) -> bytes:
        return self.driver.get_screenshot_as_png()

    def frame_bytes(self) -> bytes:
        """The newest MJPEG frame when the session streams one, else a PNG screenshot."""
        stream = self._mjpeg()
        if stream is not None:
            jpeg = stream.next_frame(MJPEG_NEXT_FRAME_S)
            if jpeg is not None:
                self.frame_taken_after_s = stream.taken_after
                return jpeg
            self.frames_from = f"screenshots (PNG): {stream.failure or 'the MJPEG stream stalled'}"
            self._close_stream()
        self.frame_taken_after_s = None
        return self.screenshot_png()

    def _mjpeg(self) -> MjpegStream | None:
        """The session's MJPEG stream, opened at the first frame; None where there is none or it
        does not give full-size frames."""
        if self._stream is not None or self._stream_tried:
            return self._stream
        self._stream_tried = True
        url = stream_url(dict(getattr(self.driver, "capabilities", None) or {}), self.appium_url)
        if url is None:
            return None
        try:
            self.driver.update_settings(MJPEG_SETTINGS)
        except (WebDriverException, AttributeError) as exc:
            self.frames_from = f"screenshots (PNG): MJPEG settings refused ({first_line(exc)})"
            return None
        stream = MjpegStream(url).start()
        first = stream.next_frame(MJPEG_FIRST_FRAME_S)
        why = stream.failure or ("no frame within " f"{MJPEG_FIRST_FRAME_S:g} s" if first is None else None)
        if why is None:
            shape, screen = decode_png(first).shape[:2], decode_png(self.screenshot_png()).shape[:2]
            why = None if shape == screen else f"MJPEG frames are {shape[1]}x{shape[0]}, the screen {screen[1]}x{screen[0]}"
        if why is not None:
            stream.close()
            self.frames_from = f"screenshots (PNG): {why}"
            return None
        self._stream, self.frames_from = stream, f"MJPEG {url}"
        return stream

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def tap(self, x_px: float, y_px: float) -> None:
        self._tap_scaled(x_px, y_px, 1.0)

    def display_info(self) -> DisplayInfo:
        """Size and density from ``mobile: deviceInfo``, else a screenshot's size and ``mobile:
        getDisplayDensity``; the bars from ``mobile: getSystemBars``."""
        try:
            info = self.driver.execute_script("mobile: deviceInfo") or {}
            width, height = (int(v) for v in str(info["realDisplaySize"]).lower().split("x"))
            density, source = float(info["displayDensity"]) / DP_DENSITY, "mobile: deviceInfo"
        except (WebDriverException, KeyError, ValueError, TypeError):
            # get_window_size is the app's area (Display.getSize leaves the navigation bar out): the
            # screenshot is the whole screen.
            height, width = decode_png(self.screenshot_png()).shape[:2]
            density, source = self._display_density(), "screenshot size x mobile: getDisplayDensity"
        status_dp, nav_dp = self._system_bars_dp(density, height)
        return DisplayInfo(width, height, density, source, status_dp, nav_dp,
                           "mobile: getSystemBars" if status_dp is not None else None)

    def _display_density(self) -> float | None:
        try:
            dpi = self.driver.execute_script("mobile: getDisplayDensity")
            return float(dpi) / DP_DENSITY if dpi else None
        except (WebDriverException, TypeError, ValueError):
            return None

    def _system_bars_dp(self, density: float | None, height_px: int) -> tuple[float | None, float | None]:
        """Status bar and bottom navigation/gesture bar heights in dp (their frames, shown or not)."""
        if not density:
            return None, None
        try:
            bars = self.driver.execute_script("mobile: getSystemBars") or {}
            status = float(bars["statusBar"]["height"])
            nav = bars.get("navigationBar") or {}
            at_bottom = float(nav.get("y", 0)) + float(nav.get("height", 0)) >= height_px - 1 \
                and float(nav.get("width", 0)) > float(nav.get("height", 0))
        except (WebDriverException, KeyError, TypeError, ValueError):
            return None, None
        return round(status / density, 1), round(float(nav["height"]) / density, 1) if at_bottom else 0.0

    def app_running(self) -> bool:
        if self.package is None:
            return False
        return self._app_state(self.package) == APP_STATE_FOREGROUND

    def close(self) -> None:
        self._close_stream()
        super().close()

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

