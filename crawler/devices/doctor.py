"""`splashaudit doctor`: is this machine ready to check apps on a phone (or the Chromium phone)?

One line per check, the way ``appium driver doctor`` and ``flutter doctor`` report: ``ok``, ``FAIL`` with
the fix on the same line, or ``skip`` when an earlier failure leaves nothing to try. The checks go from
the machine to the phone: Node and Appium, the platform's driver (and its version, from this project's
``node_modules``), adb or Xcode, the device listed, a session with the profile's capabilities, the
screen unlocked, a screenshot's and a tap's round trip, the frame stream, the density and bars the
device reports. Exit 0 when every check passes, 3 (environment) when one does not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

from crawler.appium_server import (APPIUM_BIN, PROJECT_ROOT, AppiumServer, EnvironmentProblem, appium_status,
                                   driver_args)
from crawler.devices.faults import DeviceError, first_line
from crawler.profiles import DeviceProfile

EXIT_OK, EXIT_ENVIRONMENT = 0, 3
DRIVERS = {"android": "uiautomator2", "ios": "xcuitest", "web": "chromium"}
INSTALL_DRIVER = f"APPIUM_HOME={PROJECT_ROOT} {APPIUM_BIN} driver install {{}}"
TOOL_TIMEOUT_S = 20


@dataclass(frozen=True)
class Check:
    name: str
    status: str                  # ok | fail | skip
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = {"ok": "ok  ", "fail": "FAIL", "skip": "skip"}[self.status]
        fix = f" -> fix: {self.fix}" if self.status == "fail" and self.fix else ""
        return f"{mark}  {self.name}: {self.detail}{fix}"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess | None:
    """A tool's output, or None when it is not there or does not answer."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, **kw)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _satisfies(version: tuple[int, int, int], spec: str) -> bool:
    """``version`` meets an npm ``engines`` range made of ``^X.Y.Z`` and ``>=X.Y.Z`` alternatives."""
    for part in spec.split("||"):
        match = re.fullmatch(r"\s*(\^|>=)(\d+)\.(\d+)\.(\d+)\s*", part)
        if not match:
            return True          # a form not read here: Appium itself will say
        op, wanted = match.group(1), tuple(int(g) for g in match.groups()[1:])
        if (op == "^" and version[0] == wanted[0] and version >= wanted) or (op == ">=" and version >= wanted):
            return True
    return False


def check_node() -> Check:
    run = _run(["node", "--version"])
    if run is None or run.returncode != 0:
        return Check("node", "fail", "node not found on the PATH", "install Node.js 20.19 or newer, then make setup")
    text = run.stdout.strip()
    version = tuple(int(v) for v in re.findall(r"\d+", text)[:3])
    try:
        spec = json.loads((PROJECT_ROOT / "node_modules/appium/package.json").read_text())["engines"]["node"]
    except (OSError, ValueError, KeyError):
        spec = ">=20.19.0"
    if len(version) == 3 and not _satisfies(version, spec):
        return Check("node", "fail", f"{text} does not meet Appium's {spec}", f"install a Node.js that does ({spec})")
    return Check("node", "ok", text)


def check_appium(appium_url: str | None) -> Check:
    if appium_url:
        status = appium_status(appium_url)
        if status is None:
            return Check("appium", "fail", f"nothing answers at {appium_url}/status",
                         f"start it (APPIUM_HOME={PROJECT_ROOT} {APPIUM_BIN}) or leave out --appium")
        return Check("appium", "ok", f"{appium_url} answers (build {(status.get('build') or {}).get('version', '?')})")
    try:
        version = json.loads((PROJECT_ROOT / "node_modules/appium/package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        version = None
    if not os.access(APPIUM_BIN, os.X_OK) or version is None:
        return Check("appium", "fail", f"{APPIUM_BIN} is missing", "make setup")
    return Check("appium", "ok", f"Appium {version} in node_modules (splashaudit starts its own server)")


def installed_drivers() -> dict | None:
    """``appium driver list --installed --json`` for this project (APPIUM_HOME = the project)."""
    run = _run([str(APPIUM_BIN), "driver", "list", "--installed", "--json"],
               env=dict(os.environ, APPIUM_HOME=str(PROJECT_ROOT)), cwd=PROJECT_ROOT)
    try:
        return json.loads(run.stdout) if run is not None and run.returncode == 0 else None
    except ValueError:
        return None


def check_driver(platform: str, appium_url: str | None) -> Check:
    name = DRIVERS[platform]
    drivers = installed_drivers()
    where = " in this project's node_modules" + (f" (the server at {appium_url} may have its own)" if appium_url else "")
    if drivers is None:
        return Check("driver", "fail", "appium driver list did not answer", "make setup")
    found = drivers.get(name)
    if not found:
        have = ", ".join(f"{k} {v.get('version')}" for k, v in drivers.items()) or "none"
        return Check("driver", "fail", f"{name} is not installed{where} (installed: {have})",
                     INSTALL_DRIVER.format(name))
    return Check("driver", "ok", f"{name} {found.get('version')} ({found.get('pkgName')}){where}")


# -- the platform's own tools and the device ---------------------------------------------------------
def check_adb() -> Check:
    adb = shutil.which("adb")
    if adb is None:
        return Check("adb", "fail", "adb not found on the PATH (no Android SDK platform-tools on this machine)",
                     "install Android SDK platform-tools, put adb on the PATH and set ANDROID_HOME to the SDK")
    run = _run([adb, "version"])
    version = run.stdout.splitlines()[0] if run is not None and run.stdout else "adb"
    if not (os.environ.get("ANDROID_HOME") or os.environ.get("ANDROID_SDK_ROOT")):
        return Check("adb", "fail", f"{version}, but ANDROID_HOME is not set (UiAutomator2 needs it)",
                     "export ANDROID_HOME=/path/to/Android/sdk")
    return Check("adb", "ok", version)


def adb_rows() -> list[tuple[str, str]] | None:
    """(serial, state) of every line of ``adb devices``; None when adb does not answer."""
    run = _run(["adb", "devices"])
    if run is None or run.returncode != 0:
        return None
    return [tuple(line.split()[:2]) for line in run.stdout.splitlines()[1:] if len(line.split()) >= 2]


def check_android_device(udid: str | None) -> Check:
    rows = adb_rows()
    if rows is None:
        return Check("device", "fail", "adb devices did not answer", "adb kill-server && adb start-server")
    states = dict(rows)
    listed = ", ".join(f"{s} ({st})" for s, st in rows) or "none"
    if udid and udid not in states:
        return Check("device", "fail", f"{udid} is not in adb devices (listed: {listed})",
                     "plug the phone in with USB debugging on, or pass the serial adb devices shows")
    wanted = [udid] if udid else [s for s, st in rows if st == "device"] or [s for s, _ in rows]
    if not wanted:
        return Check("device", "fail", "no device in adb devices",
                     "connect a phone with USB debugging on (Settings > Developer options) or start an emulator")
    state = states[wanted[0]]
    if state == "unauthorized":
        return Check("device", "fail", f"{wanted[0]} is unauthorized", "unlock the phone and allow USB debugging")
    if state != "device":
        return Check("device", "fail", f"{wanted[0]} is {state}", "reconnect it (adb reconnect) and check the cable")
    several = "" if udid or len(wanted) == 1 else f" (of {len(wanted)}: Appium takes the first; pick with --udid)"
    return Check("device", "ok", f"{wanted[0]} listed by adb{several}")


def check_xcode() -> Check:
    if sys.platform != "darwin":
        return Check("xcode", "fail", f"iOS needs macOS with Xcode (this is {sys.platform})",
                     "run splashaudit on a Mac with Xcode and its command line tools (xcode-select --install)")
    run = _run(["xcrun", "xcodebuild", "-version"])
    if run is None or run.returncode != 0:
        return Check("xcode", "fail", "xcrun xcodebuild does not answer", "install Xcode, then xcode-select -s it")
    return Check("xcode", "ok", " ".join(run.stdout.split()[:2]))


def check_ios_device(udid: str | None) -> Check:
    run = _run(["xcrun", "xctrace", "list", "devices"])
    if run is None or run.returncode != 0:
        return Check("device", "fail", "xcrun xctrace list devices did not answer", "open Xcode once to finish its setup")
    devices = re.findall(r"^(.+?) \(([\d.]+)\) \(([0-9A-Fa-f-]{20,})\)$", run.stdout, re.M)
    if udid:
        found = [d for d in devices if d[2] == udid]
        return Check("device", "ok", f"{found[0][0]} iOS {found[0][1]} ({udid})") if found else Check(
            "device", "fail", f"{udid} is not listed by xcrun xctrace", "plug it in, trust this Mac, or boot the simulator")
    if not devices:
        return Check("device", "fail", "no iPhone or simulator listed", "plug in a trusted iPhone or create a simulator")
    return Check("device", "ok", f"{devices[0][0]} iOS {devices[0][1]} ({devices[0][2]}); pick another with --udid")


def check_chromium() -> Check:
    from crawler.devices.web import CHROMEDRIVER_BINARY, CHROMIUM_BINARY

    versions = []
    for binary in (CHROMIUM_BINARY, CHROMEDRIVER_BINARY):
        run = _run([binary, "--version"])
        found = re.search(r"(\d+)\.[\d.]+", run.stdout) if run is not None else None
        if found is None:
            return Check("chromium", "fail", f"{binary} does not answer", "make setup (installs chromium and chromium-driver)")
        versions.append(found.group(0))
    if versions[0].split(".")[0] != versions[1].split(".")[0]:
        return Check("chromium", "fail", f"chromium {versions[0]} but chromedriver {versions[1]}",
                     "install matching chromium and chromium-driver packages")
    return Check("chromium", "ok", f"chromium {versions[0]} with chromedriver {versions[1]}")


def check_web_device(profile: DeviceProfile) -> Check:
    w, h = profile.screen_px
    return Check("device", "ok", f"the Chromium phone {profile.name}: {w}x{h} px at {profile.density:g} px/dp")


def machine_checks(platform: str, profile: DeviceProfile, appium_url: str | None, udid: str | None) -> list[Check]:
    checks = [check_node(), check_appium(appium_url), check_driver(platform, appium_url)]
    if platform == "android":
        adb = check_adb()
        checks += [adb, check_android_device(udid) if shutil.which("adb") else
                   Check("device", "fail", "no Android device or emulator can be seen: adb is missing",
                         "install adb (above), then connect a phone with USB debugging on or start an emulator")]
    elif platform == "ios":
        xcode = check_xcode()
        checks += [xcode, check_ios_device(udid) if xcode.status == "ok" else
                   Check("device", "fail", "no iPhone or simulator can be seen without Xcode",
                         "install Xcode (above), then plug in a trusted iPhone or boot a simulator")]
    else:
        checks += [check_chromium(), check_web_device(profile)]
    return checks


# -- a session on the device, and what it answers ------------------------------------------------------
SESSION_CHECKS = ("session", "unlocked", "screenshot", "tap", "frames", "display")


def _timed(fn):
    started = time.monotonic()
    value = fn()
    return value, (time.monotonic() - started) * 1000


def check_unlocked(device, platform: str) -> Check:
    if platform == "web":
        return Check("unlocked", "ok", "the Chromium phone has no lock screen")
    from selenium.common.exceptions import WebDriverException

    try:
        locked = bool(device.driver.execute_script("mobile: isLocked"))
    except WebDriverException as exc:
        return Check("unlocked", "fail", f"mobile: isLocked did not answer ({first_line(exc)})", "unlock the phone")
    if locked:
        return Check("unlocked", "fail", "the screen is locked",
                     "unlock it and turn the screen lock off for unattended runs (or --cap appium:unlockType=...)")
    return Check("unlocked", "ok", "the screen is unlocked")


def check_screenshot(device) -> tuple[Check, tuple[int, int]]:
    from crawler.devices.base import decode_png

    png, ms = _timed(device.screenshot_png)
    height, width = decode_png(png).shape[:2]
    return Check("screenshot", "ok", f"{width}x{height} px in {ms:.0f} ms"), (width, height)


def check_tap(device, size: tuple[int, int]) -> Check:
    # The middle of the status bar: a tap there starts nothing on Android, iOS or a blank page.
    _, ms = _timed(lambda: device.tap(size[0] / 2, 2))
    return Check("tap", "ok", f"a W3C touch tap round trip in {ms:.0f} ms")


def check_frames(device, platform: str) -> Check:
    from crawler.devices.base import decode_png

    first, ms = _timed(device.frame_bytes)
    count, started = 0, time.monotonic()
    while time.monotonic() - started < 1.0:
        device.frame_bytes()
        count += 1
    rate = count / (time.monotonic() - started)
    height, width = decode_png(first).shape[:2]
    source = getattr(device, "frames_from", "screenshots")
    detail = f"{source}: {width}x{height}, first in {ms:.0f} ms, then {rate:.1f} frames/s"
    if platform == "android" and not source.startswith("MJPEG"):
        return Check("frames", "fail", detail, "a local Appium gets appium:mjpegServerPort from splashaudit; for a "
                     "remote one pass --cap appium:mjpegScreenshotUrl=http://HOST:PORT")
    if platform == "web" and not source.startswith("DevTools"):
        return Check("frames", "fail", detail, "let the session reach chromedriver's DevTools endpoint")
    if platform == "ios":
        detail += " (WebDriverAgent's MJPEG stream is not used yet)"
    return Check("frames", "ok", detail)


def check_display(device, platform: str, profile: DeviceProfile) -> Check:
    info = device.display_info()
    if not info.density:
        return Check("display", "fail", f"{info.width_px}x{info.height_px} px but no density ({info.source})",
                     "check with --profile for this phone's density")
    what = f"{info.width_px}x{info.height_px} px at {info.density:g} px/dp ({info.source})"
    if info.status_bar_dp is None:
        bars = f"bars: the profile's {profile.status_bar_dp:g}/{profile.gesture_bar_dp:g} dp (not reported)"
        if platform == "android":
            return Check("display", "fail", f"{what}; {bars}", "update appium-uiautomator2-driver (mobile: getSystemBars)")
    else:
        gesture = info.gesture_bar_dp if info.gesture_bar_dp is not None else profile.gesture_bar_dp
        bars = (f"status bar {info.status_bar_dp:g} dp, bottom bar {gesture:g} dp ({info.bars_source}"
                + ("" if info.gesture_bar_dp is not None else "; the home indicator is the profile's") + ")")
    return Check("display", "ok", f"{what}; {bars}")


def session_checks(platform: str, profile: DeviceProfile, appium_url: str | None, capabilities: dict,
                   log_dir) -> list[Check]:
    from crawler.devices import open_device

    checks: list[Check] = []
    with ExitStack() as stack:
        try:
            url = appium_url or stack.enter_context(AppiumServer(log_dir, extra_args=driver_args([platform]))).url
            device, ms = _timed(lambda: stack.enter_context(open_device(profile, url, capabilities=capabilities)))
        except (EnvironmentProblem, DeviceError) as exc:
            return [Check("session", "fail", first_line(exc, 300), "see the lines above, and the Appium log in "
                          f"{log_dir}")] + [Check(n, "skip", "not tried: no session") for n in SESSION_CHECKS[1:]]
        checks.append(Check("session", "ok", f"{profile.name}'s capabilities, opened in {ms / 1000:.1f} s at {url}"))
        try:
            checks.append(check_unlocked(device, platform))
            shot, size = check_screenshot(device)
            checks += [shot, check_tap(device, size), check_frames(device, platform),
                       check_display(device, platform, profile)]
        except DeviceError as exc:
            done = {c.name for c in checks}
            name = next(n for n in SESSION_CHECKS if n not in done)
            checks.append(Check(name, "fail", first_line(exc, 300), "see the Appium log"))
    return checks


def run_doctor(platform: str, profile: DeviceProfile, appium_url: str | None, capabilities: dict, log_dir,
               say=print) -> int:
    """Run every check, print one line each, return the exit code (0 all pass, 3 something missing)."""
    say(f"splashaudit doctor: {platform} with the profile {profile.name}")
    checks = machine_checks(platform, profile, appium_url, capabilities.get("appium:udid"))
    for check in checks:
        say(check.line())
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        later = [Check(n, "skip", f"not tried: needs {', '.join(failed)}") for n in SESSION_CHECKS]
    else:
        later = session_checks(platform, profile, appium_url, capabilities, log_dir)
    for check in later:
        say(check.line())
    checks += later
    bad = [c.name for c in checks if c.status == "fail"]
    if bad:
        say(f"{len(bad)} check(s) failed ({', '.join(bad)}): fix them, then run splashaudit doctor again")
        return EXIT_ENVIRONMENT
    say(f"all {len(checks)} checks pass: splashaudit check APP --platform {platform} is ready to run")
    return EXIT_OK
