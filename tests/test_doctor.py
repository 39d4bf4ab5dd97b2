"""`splashaudit doctor` on this machine: no adb and no phone here, so android must say exactly that,
with the fix, and exit 3; the bundled Chromium phone must pass every check (the product starts its own
Appium server, real Chromium answers).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

CLI = [sys.executable, "-m", "crawler.cli", "doctor"]
SESSION_CHECKS = ("session", "unlocked", "screenshot", "tap", "frames", "display")


def _name(line: str) -> str:
    return line.split(":", 1)[0].split()[-1]


def test_android_without_adb_or_a_phone_says_so_with_the_fix_and_exits_3(tmp_path):
    # A PATH with node alone: adb is missing whatever else this machine may have installed.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(shutil.which("node"))
    env = {k: v for k, v in os.environ.items() if k not in ("ANDROID_HOME", "ANDROID_SDK_ROOT")}
    run = subprocess.run([*CLI, "--platform", "android"], capture_output=True, text=True, timeout=120,
                         env=dict(env, PATH=str(bin_dir)))
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stderr == "" and "Traceback" not in run.stdout
    lines = {_name(line): line for line in run.stdout.splitlines()[1:-1]}
    assert lines["node"].startswith("ok")
    assert lines["adb"].startswith("FAIL  adb: adb not found on the PATH")
    assert "-> fix: install Android SDK platform-tools" in lines["adb"]
    assert lines["device"].startswith("FAIL  device: no Android device or emulator can be seen")
    assert "-> fix: " in lines["device"] and "USB debugging" in lines["device"]
    assert all(lines[name].startswith("skip") for name in SESSION_CHECKS)
    assert re.match(r"\d check\(s\) failed \(.*adb, device\)", run.stdout.splitlines()[-1])


def test_web_passes_every_check_with_the_bundled_chromium_phone():
    run = subprocess.run([*CLI, "--platform", "web"], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    checks = run.stdout.splitlines()[1:-1]
    assert {_name(line) for line in checks} == {"node", "appium", "driver", "chromium", "device", *SESSION_CHECKS}
    assert all(line.startswith("ok") for line in checks), run.stdout
    lines = {_name(line): line for line in checks}
    assert " ms" in lines["screenshot"] and " ms" in lines["tap"] and "frames/s" in lines["frames"]
    assert "2.625 px/dp" in lines["display"]
    assert run.stdout.splitlines()[-1].startswith("all 11 checks pass")
