"""Faults on real parts: a check whose Appium, chromedriver or app page dies says so, and never passes.

Each test kills a real process by its pid at a known moment (read from result.json or the frame
callback): the check's own Appium server, its chromedriver, the Chromium renderer of the app's tab.
A fixture page that navigates to a dead port stands for an app that crashes on every launch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.appium_server import descendants, pid_alive
from crawler.check_cmd import MAX_CRASHES_IN_A_ROW, MAX_STALLS_IN_A_ROW, run_check
from crawler.devices.faults import AppCrashed, DeviceLost, DeviceStalled, translate
from crawler.probes import ProbeSettings
from crawler.profiles import load_profile
from crawler.webserve import StaticServer
from vision.rules import load_rule_profile

CLI = [sys.executable, "-m", "crawler.cli"]
NOT_JUDGED = ("CLOSE_EFFECTIVE", "FULLSCREEN_JUMP")
#: An app that shows a splash ad for a moment, then navigates to a port nobody listens on: the
#: browser's error page, i.e. the app died. It does so on every launch.
CRASHING_APP = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0;background:#ff5a36;height:100vh;font:32px sans-serif;color:#fff">
<div style="position:absolute;top:40px;right:16px;background:#0008;padding:6px 14px;border-radius:16px">跳过 5</div>
<div style="position:absolute;top:40px;left:16px;font-size:14px;background:#0006;padding:2px 6px">广告</div>
<script>setTimeout(function () { location.href = "http://127.0.0.1:9/"; }, 1500);</script>
</body></html>
"""


#: An app that shows a splash ad, then freezes (its main thread loops forever) 2.5 s later, while
#: ``freeze.txt`` is served beside it: no screenshot of it ever comes back (chromedriver waits for a frame).
FREEZING_APP = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0;background:#2a6df4;height:100vh;font:32px sans-serif;color:#fff">
<div style="position:absolute;top:40px;right:16px;background:#0008;padding:6px 14px;border-radius:16px">跳过 5</div>
<div style="position:absolute;top:40px;left:16px;font-size:14px;background:#0006;padding:2px 6px">广告</div>
<script>
var flag = new XMLHttpRequest(); flag.open("GET", "freeze.txt", false); flag.send();
if (flag.status === 200) setTimeout(function () { for (;;) {} }, 2500);
</script></body></html>
"""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _launches_done(out: Path) -> int:
    try:
        return len(json.loads((out / "result.json").read_text())["launches"])
    except (OSError, ValueError, KeyError):
        return 0


def _check_until_first_launch(url: str, out: Path) -> tuple[subprocess.Popen, list[int]]:
    """`splashaudit check` (its own Appium) running, with launch 1 on disk; and its process tree."""
    proc = subprocess.Popen([*CLI, "check", url, "--probes", "3", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and _launches_done(out) < 1:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1]
    assert _launches_done(out) >= 1, "launch 1 did not finish in time"
    time.sleep(1.0)                                   # well inside launch 2 (close)
    return proc, descendants(proc.pid)


def _assert_incomplete_and_clean(proc, tree, out: Path, cause: str) -> dict:
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 3, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert cause in lines[0] and "during launch 2 (close)" in lines[0] and "incomplete" in lines[0]
    data = json.loads((out / "result.json").read_text())
    assert data["complete"] is False and data["verdict"] == "incomplete"
    verdicts = {f["rule"]: f for f in data["findings"]}
    for rule in NOT_JUDGED:
        assert verdicts[rule]["verdict"] == "inconclusive" and "not probed" in verdicts[rule]["message"]
    assert "检测未完成" in (out / "report.html").read_text(encoding="utf-8")
    time.sleep(0.5)
    assert [p for p in tree if pid_alive(p)] == [], [_cmdline(p) for p in tree if pid_alive(p)]
    return data


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("crashing")
    (root / "crash").mkdir()
    (root / "crash" / "index.html").write_text(CRASHING_APP, encoding="utf-8")
    with StaticServer(root, origins=1) as server:
        yield server.origins[0] + "/crash/index.html"


def test_transport_failures_become_one_line_device_errors():
    from selenium.common.exceptions import InvalidSessionIdException, WebDriverException
    from urllib3.exceptions import MaxRetryError

    moment = "launch 2 (close)"
    lost = translate(MaxRetryError(None, "/session/x/url", "refused"), "Appium at 127.0.0.1:4723", moment)
    assert isinstance(lost, DeviceLost)
    assert str(lost) == "Appium at 127.0.0.1:4723 stopped answering during launch 2 (close)"
    assert isinstance(translate(ConnectionResetError(104, "reset"), "x", moment), DeviceLost)
    assert "lost the session" in str(translate(InvalidSessionIdException("invalid session id"), "x", moment))
    proxied = WebDriverException("Could not proxy command to the remote server. Original error: connect "
                                 "ECONNREFUSED 127.0.0.1:9515\nStacktrace: ...")
    assert "\n" not in str(translate(proxied, "x", moment)) and "lost its driver" in str(translate(proxied, "x", moment))
    assert isinstance(translate(WebDriverException("tab crashed\n (Session info)"), "x", moment), AppCrashed)
    assert translate(WebDriverException("no such element"), "x", moment) is None     # not a transport failure
    assert translate(ValueError("a bug"), "x", moment) is None
    frozen = translate(WebDriverException("timeout: Timed out receiving message from renderer: 60.000\n  (Session"),
                       "x", moment)
    assert isinstance(frozen, DeviceStalled) and "has not answered" in str(frozen) and "\n" not in str(frozen)


def test_debug_adds_the_traceback_of_what_stopped_the_check(tmp_path):
    args = ["check", "http://127.0.0.1:9/x", "--appium", "http://127.0.0.1:9", "--out", str(tmp_path)]
    quiet = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)
    loud = subprocess.run([*CLI, "--debug", *args], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == loud.returncode == 3
    assert "Traceback" not in quiet.stderr and len(quiet.stderr.strip().splitlines()) == 1
    assert "Traceback" in loud.stderr and "EnvironmentProblem" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip()


def test_appium_killed_mid_check_exits_3_incomplete_with_one_line(fixture_apps, tmp_path):
    proc, tree = _check_until_first_launch(fixture_apps.url("compliant"), tmp_path)
    appium = [p for p in tree if "appium" in _cmdline(p) and " server " in _cmdline(p)]
    assert len(appium) == 1, [_cmdline(p) for p in tree]
    os.kill(appium[0], signal.SIGKILL)
    data = _assert_incomplete_and_clean(proc, tree, tmp_path, "Appium at 127.0.0.1:")
    assert "stopped answering" in data["error"]
    assert [l["kind"] for l in data["launches"]][:1] == ["observe"]


def test_chromedriver_killed_mid_check_exits_3_incomplete(fixture_apps, tmp_path):
    proc, tree = _check_until_first_launch(fixture_apps.url("compliant"), tmp_path)
    drivers = [p for p in tree if _cmdline(p).startswith("/usr/bin/chromedriver")]
    assert len(drivers) == 1, [_cmdline(p) for p in tree]
    os.kill(drivers[0], signal.SIGKILL)
    data = _assert_incomplete_and_clean(proc, tree, tmp_path, "lost its driver")
    assert data["launches"][-1]["lost"]


def test_tab_crash_mid_probe_is_an_event_and_the_next_launch_goes_on(appium_server, fixture_apps, tmp_path):
    before = set(descendants(appium_server.pid))
    killed: list[int] = []

    def crash_the_tab(launch, frame) -> None:
        if launch.index == 2 and not killed:
            renderers = [p for p in descendants(appium_server.pid)
                         if p not in before and "--type=renderer" in _cmdline(p)]
            assert renderers
            for pid in renderers:
                os.kill(pid, signal.SIGKILL)
            killed.extend(renderers)

    result = run_check(fixture_apps.url("compliant"), load_profile("chromium-phone"), tmp_path,
                       load_rule_profile(), appium_url=appium_server.url, probes=3, on_event=crash_the_tab)
    assert killed
    data = json.loads((tmp_path / "result.json").read_text())
    crashed = data["launches"][1]
    assert crashed["kind"] == "close" and "tab crashed" in crashed["crashed"]
    event = next(e for e in crashed["events"] if e["what"] == "app_crashed")
    assert event["frame"] and (tmp_path / event["frame"]).is_file()
    assert data["launches"][2]["kind"] == "body_tap" and not data["launches"][2]["error"]   # went on
    assert data["launches"][2]["frames"]
    assert data["complete"] is True and result.error is None
    close = next(f for f in data["findings"] if f["rule"] == "CLOSE_EFFECTIVE")
    assert close["verdict"] == "inconclusive" and "not probed" in close["message"]


def test_an_app_crashing_on_every_launch_ends_the_check_after_three(appium_server, served, tmp_path):
    result = run_check(served, load_profile("chromium-phone"), tmp_path, load_rule_profile(),
                       appium_url=appium_server.url, probes=5)
    data = json.loads((tmp_path / "result.json").read_text())
    crashed = data["launches"][-MAX_CRASHES_IN_A_ROW:]
    assert all("error page" in l["crashed"] for l in crashed)
    # chromedriver now and then never answers a screenshot taken as the page navigates away (about one
    # run in ten on a busy machine): that launch stalls, is not counted as a crash, and the next goes on
    assert all(l["stalled"] and not l["crashed"] for l in data["launches"][:-MAX_CRASHES_IN_A_ROW])
    assert f"crashed in {MAX_CRASHES_IN_A_ROW} launches in a row" in data["error"]
    assert data["complete"] is False and data["verdict"] == "incomplete" and result.exit_code == 3
    assert all(f["verdict"] != "pass" for f in data["findings"] if f["rule"] in ("CLOSE_PRESENT", *NOT_JUDGED))
    for launch in crashed:
        event = next(e for e in launch["events"] if e["what"] == "app_crashed")
        assert event["frame"] and (tmp_path / event["frame"]).is_file()
        assert not any(f["jump"] for f in launch["frames"])     # the error page is not a jump


def _freezing_app(root: Path) -> StaticServer:
    (root / "freeze").mkdir()
    (root / "freeze" / "index.html").write_text(FREEZING_APP, encoding="utf-8")
    (root / "freeze" / "freeze.txt").write_text("1")
    return StaticServer(root, origins=1)


def test_a_frozen_app_stalls_its_launch_and_a_new_browser_takes_the_next(appium_server, tmp_path):
    """The first launch freezes; the launches after it, in a new browser, are judged as usual."""
    flag = tmp_path / "site" / "freeze" / "freeze.txt"

    def thaw_after_the_first(launch, frame) -> None:
        flag.unlink(missing_ok=True)

    (tmp_path / "site").mkdir()
    with _freezing_app(tmp_path / "site") as server:
        result = run_check(server.origins[0] + "/freeze/index.html", load_profile("chromium-phone"),
                           tmp_path / "out", load_rule_profile(), appium_url=appium_server.url, probes=3,
                           settings=ProbeSettings(stall_s=8.0), on_event=thaw_after_the_first)
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    first, *rest = data["launches"]
    assert "has not answered" in first["stalled"] and "launch 1 (observe)" in first["stalled"]
    assert first["outcome"] == "not finished: the device stopped answering" and not first["lost"]
    # let go at its stall limit, not at Appium's own (240 s for a proxied command)
    assert first["duration_s"] < 120
    assert [l["kind"] for l in rest] == ["close", "body_tap"]
    assert all(not l["stalled"] and not l["error"] and l["frames"] for l in rest)
    assert data["complete"] is True and result.exit_code in (0, 1)
    present = next(f for f in data["findings"] if f["rule"] == "CLOSE_PRESENT")
    assert present["verdict"] == "inconclusive" and "has not answered" in present["message"]


def test_an_app_that_freezes_on_every_launch_ends_the_check(appium_server, tmp_path):
    (tmp_path / "site").mkdir()
    with _freezing_app(tmp_path / "site") as server:
        result = run_check(server.origins[0] + "/freeze/index.html", load_profile("chromium-phone"),
                           tmp_path / "out", load_rule_profile(), appium_url=appium_server.url, probes=5,
                           settings=ProbeSettings(stall_s=8.0))
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    assert len(data["launches"]) == MAX_STALLS_IN_A_ROW and all(l["stalled"] for l in data["launches"])
    assert f"stopped answering in {MAX_STALLS_IN_A_ROW} launches in a row" in data["error"]
    assert data["complete"] is False and data["verdict"] == "incomplete" and result.exit_code == 3
    assert all(f["verdict"] == "inconclusive" for f in data["findings"]
               if f["rule"] in ("CLOSE_PRESENT", *NOT_JUDGED))
