"""Stand-ins for a real phone behind Appium, for the one boundary that cannot run here (no Android or
iOS device, no emulator image). Each behaviour is the driver's documented one; the source is named
where it is modelled. Everything else (Appium's HTTP server, Chromium) is real in the other tests.

- ``FakeUiAutomator2``: appium-uiautomator2-driver 8.7 with appium-android-driver 14.2 and appium-adb 16.0.
- ``FakeXCUITest``: appium-xcuitest-driver 12.13 with WebDriverAgent.
- ``FakeMjpegServer``: appium-uiautomator2-server's MJPEG screen stream, byte for byte.

``install(scenario)`` puts a fake behind appium-python-client's ``webdriver.Remote`` for a CLI run in
a subprocess (``tests/fake_cli.py``).
"""

from __future__ import annotations

import base64
import io
import json
import socket
import socketserver
import threading
import time

import numpy as np
from PIL import Image
from selenium.common.exceptions import WebDriverException

#: Appium's wording of every driver error it passes on (HTTP 500, W3C "unknown error").
UNKNOWN = "An unknown server-side error occurred while processing the command. Original error: "
LAUNCHER = ("com.google.android.apps.nexuslauncher", "com.google.android.apps.nexuslauncher.NexusLauncherActivity")


def png_of(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image[:, :, ::-1]).save(out, format="PNG")
    return out.getvalue()


def jpeg_of(image: np.ndarray, scale: float = 1.0, quality: int = 90) -> bytes:
    picture = Image.fromarray(image[:, :, ::-1])
    if scale != 1.0:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def plain_screen(width_px: int, height_px: int, bgr=(240, 240, 240)) -> np.ndarray:
    return np.full((height_px, width_px, 3), bgr, dtype=np.uint8)


class ClientMethods:
    """appium-python-client 6's convenience methods, as it implements them: each is one ``mobile:``
    extension through ``execute_script`` (webdriver/extensions/applications.py, android/common.py,
    android/activities.py, android/display.py)."""

    def terminate_app(self, app_id, **options):
        return self.execute_script("mobile: terminateApp", {"appId": app_id, "bundleId": app_id, **options})

    def activate_app(self, app_id):
        self.execute_script("mobile: activateApp", {"appId": app_id, "bundleId": app_id})
        return self

    def query_app_state(self, app_id):
        return self.execute_script("mobile: queryAppState", {"appId": app_id, "bundleId": app_id})

    @property
    def current_package(self):
        return self.execute_script("mobile: getCurrentPackage")

    @property
    def current_activity(self):
        return self.execute_script("mobile: getCurrentActivity")

    def get_display_density(self):
        return self.execute_script("mobile: getDisplayDensity")

    # -- the phone's screen recorder (appium-android-driver lib/commands/recordscreen.ts; XCUITest's
    # lib/commands/recordscreen.js behaves alike): a base64 video when stopped, '' when none ran ------
    recorded_video = b""                # what the phone's recorder writes while it runs
    recorder_error: str | None = None   # e.g. an emulator under API 27: screenrecord does not run there
    recording = False

    def start_recording_screen(self, **options):
        self.calls.append(("start_recording_screen", options))
        limit = options.get("timeLimit", 180)
        if not 1 <= int(limit) <= 1800:
            raise WebDriverException(UNKNOWN + f"The timeLimit value must be in range [1, 1800] seconds. "
                                               f"The value of '{limit}' has been passed instead.")
        if self.recorder_error:
            raise WebDriverException(UNKNOWN + self.recorder_error)
        self.recording = True
        return ""

    def stop_recording_screen(self, **options):
        self.calls.append(("stop_recording_screen", options))
        if not self.recording:          # "Screen recording is not running. There is nothing to stop."
            return ""
        self.recording = False
        return base64.b64encode(self.recorded_video).decode("ascii")


class FakeApp:
    """An installed Android app: its launchable activity and the runtime permissions it holds."""

    def __init__(self, package: str, launch_activity: str = ".SplashActivity", granted=(), user_fixed=()):
        self.package, self.launch_activity = package, launch_activity
        self.activities = {launch_activity, ".MainActivity"}
        self.granted, self.user_fixed = set(granted), set(user_fixed)
        self.data = {"logged_in": True}


class FakeUiAutomator2(ClientMethods):
    """A phone behind Appium's UiAutomator2 driver. Calls are recorded in ``calls``; ``am`` commands
    (as appium-adb would run them) in ``am``; each ``dumpsys window`` in ``dumpsys``."""

    def __init__(self, apps=(), *, api_level=34, shell_allowed=True, launch_delay_looks=2, size=(1080, 2400),
                 dpi=420, nav_bar_px=63, status_bar_px=110, device_info=True, stuck=(), capabilities=None):
        self.apps = {a.package: a for a in apps}
        self.api_level, self.shell_allowed, self.device_info = api_level, shell_allowed, device_info
        self.launch_delay_looks = launch_delay_looks
        self.width, self.height = size
        self.dpi, self.nav_bar_px, self.status_bar_px = dpi, nav_bar_px, status_bar_px
        self.stuck = set(stuck)                 # packages whose process outlives terminateApp's timeout
        self.running: set[str] = set()
        self.front: tuple[str, str] | None = LAUNCHER
        self.pending: list = []                 # focus states the next dumpsys calls see, one each
        self.screen = plain_screen(*size)
        self.settings = {"mjpegScalingFactor": 50, "mjpegServerScreenshotQuality": 50, "mjpegServerFramerate": 10}
        self.capabilities = dict(capabilities or {})
        self.sensors: dict[str, str] = {}       # mobile: sensorSet, emulators only
        self.calls: list[tuple] = []
        self.am: list[list[str]] = []
        self.dumpsys = 0
        self.screenshots = 0
        self.taps: list[dict] = []

    # -- appium-python-client surface ----------------------------------------------------------
    def execute_script(self, name, args=None):
        self.calls.append((name, args))
        handler = getattr(self, "_" + name.removeprefix("mobile: "), None)
        if handler is None:
            raise WebDriverException(f"Unknown mobile command \"{name}\"")
        return handler(dict(args or {}))

    def _sensorSet(self, args):
        # appium-android-driver lib/commands/emulator-actions.js: sensorSet "is only available for
        # emulators" (it runs `adb emu sensor set`); a real phone gets an error.
        caps = self.capabilities
        udid = str(caps.get("deviceUDID") or caps.get("udid") or caps.get("appium:udid") or "")
        if not (caps.get("avd") or caps.get("appium:avd") or udid.startswith("emulator-")):
            raise WebDriverException("sensorSet method is only available for emulators")
        self.sensors[args["sensorType"]] = args["value"]

    def execute(self, command, params=None):          # W3C actions (taps)
        self.calls.append(("execute", command))
        if command == "actions":
            self.taps.append(params)
        return {"value": None}

    def update_settings(self, settings: dict):        # POST /appium/settings
        self.calls.append(("update_settings", settings))
        self.settings.update(settings)

    def get_screenshot_as_png(self) -> bytes:
        self.screenshots += 1
        return png_of(self.screen)

    def get_window_size(self):
        # UiAutomator2's window size is Display.getSize(): the app's area, without the navigation bar.
        return {"width": self.width, "height": self.height - self.nav_bar_px}

    @property
    def page_source(self):
        return "<hierarchy/>"

    def quit(self):
        self.calls.append(("quit",))

    # -- the phone ------------------------------------------------------------------------------
    def _focus_now(self):
        """The focus one ``dumpsys window`` sees: a pending transition state, else the front."""
        self.dumpsys += 1
        return self.pending.pop(0) if self.pending else self.front

    def _dumpsys_text(self, state) -> str:
        if state == "garbled":           # an output with no focus lines at all (cut short)
            return "WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)\n"
        if state == "lockscreen":        # the keyguard has focus: a window with no package/activity
            return "  mCurrentFocus=Window{3c1d2e5 u0 NotificationShade}\n  mFocusedApp=null\n"
        if state is None:                # a transition between windows
            return "  mCurrentFocus=null\n  mFocusedApp=null\n"
        package, activity = state
        full = package + activity if activity.startswith(".") else activity
        return (f"  mCurrentFocus=Window{{8e1f2a3 u0 {package}/{full}}}\n"
                f"  mFocusedApp=ActivityRecord{{4b7c9d2 u0 {package}/{activity} t42}}\n")

    def _start_app(self, package: str, activity: str) -> None:
        """``am start-activity`` returns once the intent is delivered (no ``-W``): the launcher keeps
        the focus for a few looks before the app's window gets it."""
        self.running.add(package)
        self.pending = [LAUNCHER] * self.launch_delay_looks
        self.front = (package, activity)

    # -- mobile: extensions, as the drivers document them ----------------------------------------
    def _terminateApp(self, a):
        # appium-android-driver terminateApp: false when not running; force-stop, then wait `timeout`
        # ms (500 by default) for the process to go, else "'<id>' is still running after <t>ms timeout".
        package = a["appId"]
        if package not in self.running:
            return False
        if package in self.stuck:
            raise WebDriverException(f"{UNKNOWN}'{package}' is still running after {a.get('timeout', 500)}ms timeout")
        self.running.discard(package)
        if self.front and self.front[0] == package:
            self.front = LAUNCHER
        return True

    def _activateApp(self, a):
        # appium-adb activateApp (API 24+): resolve the launchable activity, then
        # am start-activity -a MAIN -c LAUNCHER -f 0x10200000 -n <activity>.
        package = a["appId"]
        app = self.apps.get(package)
        if app is None:
            raise WebDriverException(f"{UNKNOWN}Unable to resolve the launchable activity of '{package}'. "
                                     f"Original error: No activity found")
        self.am.append(["am", "start-activity", "-a", "android.intent.action.MAIN", "-c",
                        "android.intent.category.LAUNCHER", "-f", "0x10200000", "-n",
                        f"{package}/{app.launch_activity}"])
        self._start_app(package, app.launch_activity)

    def _startActivity(self, a):
        # appium-android-driver mobileStartActivity: am start-activity [-W] [-S] + the intent spec in
        # parseIntentSpec's order; the shell output is returned, errors included (am prints them).
        cmd = ["am", "start-activity"] + (["-W"] if a.get("wait") else []) + (["-S"] if a.get("stop") else [])
        for flag, key in (("-a", "action"), ("-c", "categories"), ("-n", "component"), ("-f", "flags")):
            if a.get(key):
                cmd += [flag, a[key]]
        self.am.append(cmd)
        package, _, activity = (a.get("component") or "").partition("/")
        if package not in self.apps or activity not in self.apps[package].activities:
            return f"Error: Activity class {{{a.get('component')}}} does not exist."
        self._start_app(package, activity)
        return "Starting: Intent { cmp=%s }" % a.get("component")

    def _changePermissions(self, a):
        # appium-android-driver mobileChangePermissions, target pm: "all" revokes what is granted.
        app = self.apps.get(a.get("appPackage"))
        if a.get("permissions") == "all" and a.get("action") == "revoke" and app is not None:
            app.granted.clear()             # pm revoke keeps "don't ask again" (user_fixed): pm clear drops it

    def _clearApp(self, a):
        app = self.apps.get(a["appId"])     # appium-adb clear: pm clear <pkg>
        if app is not None:
            app.granted.clear()
            app.user_fixed.clear()
            app.data = {}

    def _shell(self, a):
        # appium-android-driver mobileShell: refused unless the server allows the adb_shell feature.
        if not self.shell_allowed:
            raise WebDriverException("Potentially insecure feature 'adb_shell' has not been enabled. If you want "
                                     "to enable this feature and accept the security ramifications, please do so "
                                     "by following the documented process")
        if a.get("command") == "dumpsys" and a.get("args", [])[:1] == ["window"]:
            return self._dumpsys_text(self._focus_now())
        return ""

    def _focused(self):
        """appium-adb getFocusedPackageAndActivity: one dumpsys; null package and activity on a null focus."""
        state = self._focus_now()
        if state == "garbled":           # nothing to parse: appium-adb throws
            raise WebDriverException(f"{UNKNOWN}Could not retrieve the currently focused package and activity")
        if state is None or state == "lockscreen":
            return None, None
        return state

    def _getCurrentPackage(self, a):      # one dumpsys of its own
        return self._focused()[0]

    def _getCurrentActivity(self, a):     # and another one
        return self._focused()[1]

    def _queryAppState(self, a):
        # appium-android-driver queryAppState: 0 not installed, 1 not running, 4 focused, else 3.
        package = a["appId"]
        if package not in self.apps:
            return 0
        if package not in self.running:
            return 1
        return 4 if self.front and self.front[0] == package else 3

    def _isAppInstalled(self, a):
        return a["appId"] in self.apps

    def _deviceInfo(self, a):
        if not self.device_info:
            raise WebDriverException(f"{UNKNOWN}Cannot retrieve device info")
        return {"realDisplaySize": f"{self.width}x{self.height}", "displayDensity": self.dpi,
                "apiVersion": str(self.api_level)}

    def _getDisplayDensity(self, a):
        return self.dpi

    def _getSystemBars(self, a):
        # appium-android-driver getSystemBars: each bar's frame from dumpsys window windows, in px.
        return {"statusBar": {"visible": True, "x": 0, "y": 0, "width": self.width, "height": self.status_bar_px},
                "navigationBar": {"visible": True, "x": 0, "y": self.height - self.nav_bar_px,
                                  "width": self.width, "height": self.nav_bar_px}}


class FakeXCUITest(ClientMethods):
    """An iPhone behind Appium's XCUITest driver and WebDriverAgent. Time spent waiting for the app to
    be idle is simulated: ``blocked_s`` adds up what a real call would have waited."""

    def __init__(self, installed=("com.example.shop",), *, busy_s=5.0, capabilities=None, front_bundle=None,
                 size_pt=(393, 852), scale=3, status_bar_pt=54):
        self.installed, self.busy_s = set(installed), busy_s
        self.capabilities = dict(capabilities or {})
        self.running: set[str] = set()
        self.front = "com.apple.springboard"
        self.front_bundle = front_bundle        # what activeAppInfo names, when set (a sheet keeps the host)
        self.size_pt, self.scale, self.status_bar_pt = size_pt, scale, status_bar_pt
        self.screen = plain_screen(size_pt[0] * scale, size_pt[1] * scale)
        self.blocked_s = 0.0
        self.calls: list[tuple] = []

    @property
    def idle_timeout_s(self) -> float:
        # WDA waitForIdleTimeout: 10 s unless the session's appium:waitForIdleTimeout says otherwise.
        return float(self.capabilities.get("appium:waitForIdleTimeout", 10))

    def execute_script(self, name, args=None):
        self.calls.append((name, args))
        handler = getattr(self, "_" + name.removeprefix("mobile: "), None)
        if handler is None:
            raise WebDriverException(f"Unknown mobile command \"{name}\"")
        return handler(dict(args or {}))

    def execute(self, command, params=None):
        self.calls.append(("execute", command))
        return {"value": None}

    def get_screenshot_as_png(self) -> bytes:
        return png_of(self.screen)

    def get_window_size(self):
        return {"width": self.size_pt[0], "height": self.size_pt[1]}

    @property
    def page_source(self):
        return "<AppiumAUT/>"

    def quit(self):
        self.calls.append(("quit",))

    def _require(self, bundle):
        if bundle not in self.installed:   # XCTest cannot find the app (message abridged)
            raise WebDriverException(f"{UNKNOWN}The application under test with bundle id '{bundle}' is not "
                                     f"installed on the device")

    def _terminateApp(self, a):
        # xcuitest mobileTerminateApp: XCTest terminate; throws for an app that is not installed.
        self._require(a["bundleId"])
        if a["bundleId"] not in self.running:
            return False
        self.running.discard(a["bundleId"])
        self.front = "com.apple.springboard"
        return True

    def _run(self, bundle):
        self.running.add(bundle)
        self.front = bundle

    def _activateApp(self, a):
        # WDA /wda/apps/activate -> XCUIApplication activate: launches if needed and waits until the
        # app is idle, up to waitForIdleTimeout; a splash video keeps it busy for busy_s.
        self._require(a["bundleId"])
        self._run(a["bundleId"])
        self.blocked_s += min(self.busy_s, self.idle_timeout_s)

    def _launchApp(self, a):
        # WDA /wda/apps/launch (FBSession launchApplicationWithBundleId): shouldWaitForQuiescence is not
        # passed by the driver, so it is inherited: waits only for the session's own app (appium:bundleId)
        # with appium:shouldWaitForQuiescence (default true).
        self._require(a["bundleId"])
        self._run(a["bundleId"])
        own = self.capabilities.get("appium:bundleId") == a["bundleId"]
        if own and self.capabilities.get("appium:shouldWaitForQuiescence", True):
            self.blocked_s += min(self.busy_s, self.idle_timeout_s)

    def _activeAppInfo(self, a):
        bundle = self.front_bundle or self.front
        return {"bundleId": bundle, "name": bundle.rsplit(".", 1)[-1], "pid": 4242, "processArguments": {}}

    def _queryAppState(self, a):
        self._require(a["bundleId"])       # xcuitest docs: throws for an app that is not installed
        if a["bundleId"] not in self.running:
            return 1
        return 4 if self.front == a["bundleId"] else 3

    def _isAppInstalled(self, a):
        return a["bundleId"] in self.installed

    def _deviceScreenInfo(self, a):
        # xcuitest mobileGetDeviceScreenInfo: statusBarSize in points, scale.
        return {"statusBarSize": {"width": self.size_pt[0], "height": self.status_bar_pt}, "scale": self.scale}


class FakeMjpegServer:
    """The MJPEG server UiAutomator2 runs on the phone (port 7810, forwarded to ``mjpegServerPort``):
    an HTTP/1.0 answer, then ``--BoundaryString`` parts, each the screen as JPEG at the session's
    ``mjpegScalingFactor`` and ``mjpegServerScreenshotQuality`` (defaults 50 and 50), sent at
    ``mjpegServerFramerate`` (10) frames a second whether the screen changed or not
    (appium-uiautomator2-server ``MjpegScreenshotClient`` / ``MjpegScreenshotStream``)."""

    HEADER = (b"HTTP/1.0 200 OK\r\nServer: AQI Android Screenshot Socket Server\r\nConnection: close\r\n"
              b"Max-Age: 0\r\nExpires: 0\r\nCache-Control: no-cache, private\r\nPragma: no-cache\r\n"
              b"Content-Type: multipart/x-mixed-replace; boundary=--BoundaryString\r\n\r\n")

    def __init__(self, phone: FakeUiAutomator2):
        self.phone = phone
        self.frames_sent = 0
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.recv(4096)                  # the client's request line
                self.request.sendall(FakeMjpegServer.HEADER)
                while not server.stopped:
                    s = server.phone.settings
                    jpeg = jpeg_of(server.phone.screen, s["mjpegScalingFactor"] / 100,
                                   s["mjpegServerScreenshotQuality"])
                    part = b"--BoundaryString\r\nContent-type: image/jpg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                    try:
                        self.request.sendall(part + jpeg + b"\r\n\r\n")
                    except OSError:
                        return
                    server.frames_sent += 1
                    time.sleep(1 / s["mjpegServerFramerate"])

        self.stopped = False
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self.stopped = True
        self._server.shutdown()
        self._server.server_close()


# -- a fake phone behind appium.webdriver.Remote, for CLI runs in a subprocess --------------------
def install(scenario: dict) -> None:
    """Make appium-python-client's ``webdriver.Remote`` give a fake phone described by ``scenario``:
    ``{"platform": "android"|"ios", "apps": [packages], "record": path}``; the capabilities each
    session asked for are appended to ``record`` (one JSON object a line)."""
    from appium import webdriver as appium_webdriver

    def remote(url, options=None, **_):
        caps = options.to_capabilities() if options is not None else {}
        if scenario.get("record"):
            with open(scenario["record"], "a", encoding="utf-8") as out:
                out.write(json.dumps({"url": url, "caps": caps}) + "\n")
        if scenario.get("platform", "android") == "ios":
            return FakeXCUITest(scenario.get("apps", []), capabilities=caps)
        return FakeUiAutomator2([FakeApp(p) for p in scenario.get("apps", [])], capabilities=caps)

    appium_webdriver.Remote = remote


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
