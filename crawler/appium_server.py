"""The project's own Appium server: start it on a free loopback port, wait for it, stop it cleanly.

``AppiumServer`` runs ``node_modules/.bin/appium`` with ``APPIUM_HOME`` set to the project root (so
the drivers installed by ``make setup`` are found), in its own process group. Stopping it terminates
that group and every process it spawned (chromedriver, chromium, adb helpers), then kills whatever
is still alive after a grace period; this also happens when the ``with`` block raises or the user
presses Ctrl-C, and, as a last resort, at interpreter exit.

``appium_reachable`` checks a user-given server (``--appium URL``) instead.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APPIUM_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "appium"
LOOPBACK = "127.0.0.1"
#: Environment variable that marks every process of one server's tree, so that stopping it also finds
#: those that left its process group (chromium's crashpad handler calls setsid and is reparented).
OWNER_ENV = "SPLASHAUDIT_APPIUM_OWNER"


class EnvironmentProblem(RuntimeError):
    """The machine lacks something the crawler needs (Appium not installed, unreachable, ...).

    The message says what is wrong and what to do about it.
    """


def driver_args(platforms) -> tuple[str, ...]:
    """Server flags the adapters of ``platforms`` rely on: UiAutomator2's ``adb_shell``, so that who
    is in front is one ``dumpsys window`` per look (``crawler.devices.android``)."""
    return ("--allow-insecure", "uiautomator2:adb_shell") if "android" in set(platforms) else ()


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def appium_status(url: str, timeout_s: float = 3.0) -> dict | None:
    """The ``value`` of ``GET {url}/status``, or None when nothing answers there."""
    status_url = url.rstrip("/") + "/status"
    try:
        with urllib.request.urlopen(status_url, timeout=timeout_s) as resp:
            body = json.loads(resp.read().decode("utf-8") or "{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    value = body.get("value") if isinstance(body, dict) else None
    return value if isinstance(value, dict) else {}


def appium_reachable(url: str, timeout_s: float = 3.0) -> bool:
    """True when an Appium (or Selenium Grid) server answers ``GET /status`` at ``url``."""
    return appium_status(url, timeout_s) is not None


def require_appium(url: str, timeout_s: float = 3.0) -> dict:
    """The server's ``/status`` value; ``EnvironmentProblem`` unless an Appium server (or Grid) answers."""
    status = appium_status(url, timeout_s)
    if status is None:
        raise EnvironmentProblem(f"Appium unreachable at {url} (GET {url.rstrip('/')}/status "
                                 f"got no answer within {timeout_s:g} s)")
    return status


def is_grid(status: dict) -> bool:
    """A Selenium Grid's ``/status`` lists its nodes; an Appium server's does not."""
    return "nodes" in status


def _children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc); empty where /proc is not available."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return kids


def descendants(pid: int) -> list[int]:
    """All processes below ``pid``, found by walking /proc (children first seen, breadth-first)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = _children_of(todo.pop())
        found += kids
        todo += kids
    return found


def _pids_whose(part: str, marker: bytes) -> list[int]:
    """Processes whose /proc ``part`` (environ, cmdline), split at NULs, holds ``marker``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / part).read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def tagged_pids(tag: str) -> list[int]:
    """Processes whose environment holds ``OWNER_ENV=tag`` (Linux /proc; empty elsewhere)."""
    return _pids_whose("environ", f"{OWNER_ENV}={tag}".encode())


def pids_with_argument(argument: str) -> list[int]:
    """Processes started with ``argument`` among their arguments (Linux /proc; empty elsewhere)."""
    return _pids_whose("cmdline", argument.encode())


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state != "Z"


def _signal_pids(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class AppiumServer:
    """A private Appium server on a free loopback port; use as a context manager.

    >>> with AppiumServer(log_dir=Path("out/logs")) as server:
    ...     driver = webdriver.Remote(server.url, options=...)

    ``url`` is ``http://127.0.0.1:PORT`` (base path ``/``). ``log_path`` is the server's log file.
    ``pids_seen`` lists every process of the server's tree seen while stopping it (for tests).
    """

    def __init__(self, log_dir: Path | str, *, port: int | None = None, start_timeout_s: float = 60.0,
                 stop_grace_s: float = 5.0, extra_args: tuple[str, ...] = (),
                 appium_bin: Path = APPIUM_BIN) -> None:
        self.log_dir = Path(log_dir)
        self.port = port
        self.start_timeout_s = start_timeout_s
        self.stop_grace_s = stop_grace_s
        self.extra_args = tuple(extra_args)
        self.appium_bin = Path(appium_bin)
        self.log_path: Path | None = None
        self.process: subprocess.Popen | None = None
        self.pids_seen: set[int] = set()
        self.owner_tag = uuid.uuid4().hex

    @property
    def url(self) -> str:
        if self.port is None or self.process is None:
            raise RuntimeError("AppiumServer is not running")
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> AppiumServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def command(self) -> list[str]:
        return [str(self.appium_bin), "server", "--address", LOOPBACK, "--port", str(self.port),
                "--base-path", "/", "--log-no-colors", "--log-timestamp", *self.extra_args]

    def start(self) -> None:
        """Start the server and wait until ``GET /status`` answers; raise ``EnvironmentProblem`` if not."""
        if self.process is not None:
            return
        if not os.access(self.appium_bin, os.X_OK):
            raise EnvironmentProblem(f"Appium not installed: {self.appium_bin} is missing (run make setup)")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.log_path = self.log_dir / f"appium-{self.port}.log"
        env = dict(os.environ, APPIUM_HOME=str(PROJECT_ROOT), **{OWNER_ENV: self.owner_tag})
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        url = f"http://{LOOPBACK}:{self.port}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EnvironmentProblem(
                    f"Appium exited with code {self.process.returncode} while starting; see {self.log_path}")
            if appium_reachable(url, timeout_s=1.0):
                return
            time.sleep(0.2)
        raise EnvironmentProblem(
            f"Appium did not answer at {url}/status within {self.start_timeout_s:g} s; see {self.log_path}")

    def stop(self) -> None:
        """Stop the server and everything it started. Safe to call more than once.

        SIGTERM to Appium first (it ends its sessions, which quits chromedriver and the browser), then
        SIGTERM to the rest of its process group and tree, then SIGKILL to whatever still lives.
        """
        proc = self.process
        if proc is None:
            return
        atexit.unregister(self.stop)
        tree = self._tree()
        _signal_pids([proc.pid], signal.SIGTERM)
        self._wait_gone([proc.pid], self.stop_grace_s)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            tree = sorted(set(tree) | set(self._tree()))
            survivors = [p for p in tree if pid_alive(p)]
            _signal_group(proc.pid, sig)
            _signal_pids(survivors, sig)
            self._wait_gone(tree, self.stop_grace_s if sig == signal.SIGTERM else 2.0)
        self.process = None

    def _tree(self) -> list[int]:
        """The server, its descendants and every process carrying its owner tag."""
        pids = [self.process.pid, *descendants(self.process.pid), *tagged_pids(self.owner_tag)]
        self.pids_seen.update(pids)
        return pids

    def alive_pids(self) -> list[int]:
        """Processes of this server's tree that are still alive (empty after ``stop``)."""
        return sorted(p for p in self.pids_seen | set(tagged_pids(self.owner_tag)) if pid_alive(p))

    def _wait_gone(self, pids: list[int], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.process.poll()                     # reap the leader so it does not stay a zombie
            if not any(pid_alive(p) for p in pids):
                return
            time.sleep(0.1)
