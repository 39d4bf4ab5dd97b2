"""AppiumServer starts a real Appium, and stopping it leaves no node, chromedriver or chromium behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crawler.appium_server import (PROJECT_ROOT, AppiumServer, EnvironmentProblem, appium_reachable,
                                   descendants, free_port, pid_alive, require_appium)
from crawler.devices.web import WebDevice
from crawler.profiles import load_profile


def _commands(pids) -> list[str]:
    names = []
    for pid in pids:
        try:
            names.append(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            pass
    return names


def _wait_dead(pids, timeout_s: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if pid_alive(p)]


def test_shared_server_answers_status(appium_server):
    assert appium_server.url.startswith("http://127.0.0.1:")
    assert appium_reachable(appium_server.url, timeout_s=2)
    require_appium(appium_server.url)
    assert appium_server.log_path.is_file()


def test_unreachable_url_is_an_environment_problem():
    url = f"http://127.0.0.1:{free_port()}"
    assert not appium_reachable(url, timeout_s=0.5)
    with pytest.raises(EnvironmentProblem, match="Appium unreachable at"):
        require_appium(url, timeout_s=0.5)


def test_missing_appium_says_run_make_setup(tmp_path):
    with pytest.raises(EnvironmentProblem, match="make setup"):
        AppiumServer(tmp_path, appium_bin=tmp_path / "no-appium").start()


def test_server_that_dies_at_start_names_its_log(tmp_path):
    server = AppiumServer(tmp_path, extra_args=("--no-such-option",), start_timeout_s=30)
    with pytest.raises(EnvironmentProblem, match=str(tmp_path)):
        server.start()
    assert server.process is None


def test_session_processes_are_gone_after_an_exception(tmp_path):
    """A chromium session inside the block; the block raises; nothing of the tree survives."""
    server = AppiumServer(tmp_path)
    with pytest.raises(RuntimeError, match="boom"), server:
        device = WebDevice.connect(load_profile("chromium-phone"), server.url)
        device.driver.get("about:blank")
        names = _commands([server.pid, *descendants(server.pid)])
        assert "chromedriver" in names and "chromium" in names
        raise RuntimeError("boom")
    assert server.process is None
    assert _wait_dead(server.pids_seen) == []
    assert server.alive_pids() == []
    shutil.rmtree(device.user_data_dir, ignore_errors=True)


def test_ctrl_c_in_a_client_process_stops_the_server(tmp_path):
    """A real SIGINT to a Python process inside ``with AppiumServer``: its Appium tree goes too."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(PROJECT_ROOT)!r})
        from crawler.appium_server import AppiumServer
        with AppiumServer({str(tmp_path)!r}) as server:
            print(server.pid, flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        appium_pid = int(child.stdout.readline())
        assert pid_alive(appium_pid)
        child.send_signal(signal.SIGINT)
        child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert _wait_dead([appium_pid]) == []
    with pytest.raises(ProcessLookupError):
        os.killpg(appium_pid, 0)        # the whole process group is gone
