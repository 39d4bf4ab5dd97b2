"""`splashaudit batch`: check a list of apps on every free device of a Selenium Grid (or one Appium).

- Work spreads by the Grid: N worker threads each call ``run_check`` with the Grid URL; every check is
  its own session, which the Grid puts on a free node whose stereotype matches (it queues the request
  while none is free).
- State: ``DIR/batch.sqlite`` (stdlib sqlite3) holds one row per app (pending / running / done, verdict,
  attempts, completions) and one row per attempt. An app is recorded ``done`` only after ``run_check``
  returned and wrote its ``result.json`` (atomically), so a killed run loses at most the apps in flight;
  rerunning the same command skips apps already done (``--force`` redoes them).
- A check that loses its node or session (an exception out of ``run_check``, an incomplete check, a
  launch error) is retried once (the Grid picks another free node); while the Grid still lists a node
  that no longer answers as UP, no worker starts a session (``GridGate``): it would be sent there and
  lost at once, retry and all. Failing again, the app is
  ``failed``: verdict ``inconclusive`` with the reason, exit code 3 (never a violation), and the next
  run of the same command checks it again.
- At the end (and after an interruption) ``summary.csv``, ``summary.html`` and ``junit.xml`` are written
  for every app of the APPS file from the state and the apps' ``result.json``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import base64
import json
import shutil
import signal
import sqlite3
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from crawler import atomic
from crawler import junit
from crawler.appium_server import AppiumServer, EnvironmentProblem, appium_status, driver_args
from crawler.appsfile import AppEntry, read_apps
from crawler.check_cmd import EXIT_ENVIRONMENT, EXIT_OK, EXIT_USAGE, EXIT_VIOLATION, run_check
from crawler.farm import DEFAULT_STATE, farm_alive, grid_slots, read_state, slot_platform, unanswering_nodes
from crawler.profiles import load_profile
from crawler.reports import html
from vision.rules import RuleProfile

RULE_IDS = ("CLOSE_PRESENT", "CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "CLOSE_EFFECTIVE",
            "FULLSCREEN_JUMP", "AD_LABEL", "PERMISSION_PURPOSE", "SHAKE_JUMP")
VERDICTS = ("violation", "warning", "pass", "inconclusive")
CSV_COLUMNS = ("app", "platform", "profile", "device", "verdict", "violations", "warnings", "inconclusive",
               "duration_s", "attempts", "error", "report", "line")
_SEVERITY = {"violation": 0, "inconclusive": 1, "warning": 2, "pass": 3, "": 4}
EXIT_INTERRUPTED = 130
FINISHED = ("done", "failed")          # statuses with a verdict to report ("failed" is checked again next run)

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
  key TEXT PRIMARY KEY, app TEXT NOT NULL, platform TEXT NOT NULL, profile TEXT NOT NULL,
  folder TEXT NOT NULL, line INTEGER, status TEXT NOT NULL DEFAULT 'pending',
  verdict TEXT, exit_code INTEGER, error TEXT, violations TEXT, warnings TEXT, inconclusive TEXT,
  duration_s REAL, attempts INTEGER NOT NULL DEFAULT 0, completions INTEGER NOT NULL DEFAULT 0,
  started REAL, finished REAL, run_id INTEGER);
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, run_id INTEGER, attempt INTEGER,
  started REAL, finished REAL, outcome TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL, finished REAL, target TEXT, parallel INTEGER,
  apps INTEGER, skipped INTEGER, exit_code INTEGER);
"""


class Store:
    """The batch's SQLite state; safe to use from the worker threads (one connection, one lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        with self.lock:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)

    def _do(self, sql: str, args=()) -> sqlite3.Cursor:
        with self.lock:
            return self.db.execute(sql, args)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def begin_run(self, target: str, parallel: int, apps: int, skipped: int) -> int:
        return self._do("INSERT INTO runs(started, target, parallel, apps, skipped) VALUES (?,?,?,?,?)",
                        (time.time(), target, parallel, apps, skipped)).lastrowid

    def end_run(self, run_id: int, exit_code: int) -> None:
        self._do("UPDATE runs SET finished=?, exit_code=? WHERE id=?", (time.time(), exit_code, run_id))

    def row(self, key: str) -> sqlite3.Row | None:
        return self._do("SELECT * FROM apps WHERE key=?", (key,)).fetchone()

    def register(self, entry: AppEntry) -> None:
        self._do("INSERT INTO apps(key, app, platform, profile, folder, line) VALUES (?,?,?,?,?,?) "
                 "ON CONFLICT(key) DO UPDATE SET line=excluded.line",
                 (entry.key, entry.app, entry.platform, entry.profile, entry.folder, entry.line))

    def reset(self, key: str) -> None:
        self._do("UPDATE apps SET status='pending' WHERE key=?", (key,))

    def start_attempt(self, key: str, run_id: int, attempt: int) -> int:
        now = time.time()
        with self.lock:
            self.db.execute("UPDATE apps SET status='running', started=?, attempts=attempts+1 WHERE key=?",
                            (now, key))
            return self.db.execute("INSERT INTO attempts(key, run_id, attempt, started) VALUES (?,?,?,?)",
                                   (key, run_id, attempt, now)).lastrowid

    def finish_attempt(self, attempt_id: int, outcome: str, error: str | None) -> None:
        self._do("UPDATE attempts SET finished=?, outcome=?, error=? WHERE id=?",
                 (time.time(), outcome, error, attempt_id))

    def done(self, key: str, run_id: int, *, verdict: str, exit_code: int, error: str | None,
             rules: dict[str, list[str]], duration_s: float, status: str = "done") -> None:
        """The app's check is over: ``done``, or ``failed`` (lost twice; the next run tries it again)."""
        self._do("UPDATE apps SET status=?, verdict=?, exit_code=?, error=?, violations=?, warnings=?, "
                 "inconclusive=?, duration_s=?, finished=?, run_id=?, completions=completions+1 WHERE key=?",
                 (status, verdict, exit_code, error, " ".join(rules["violation"]), " ".join(rules["warning"]),
                  " ".join(rules["inconclusive"]), duration_s, time.time(), run_id, key))

    def failed(self, key: str, error: str) -> None:
        """Not checked at all (no node for its platform): stays to do, with the reason."""
        self._do("UPDATE apps SET status='pending', error=? WHERE key=?", (error, key))


@dataclass
class Target:
    """Where the sessions go: one URL for everyone (Grid, Appium) or one private Appium per worker."""

    urls: list[str]
    label: str
    parallel: int
    slots: dict[str, int] = field(default_factory=dict)   # platform -> UP slots (Grid only)
    is_grid: bool = False


#: After a lost check, new sessions wait at most this long for the Grid to stop offering a node that is
#: gone. The farm's hub logs a health check of each node every 10 s; a Grid that checks less often is
#: not waited for longer: a session lost there again leaves its app ``failed``, checked by the next run.
GRID_SETTLE_S = 30.0
GRID_POLL_S = 0.5


class GridGate:
    """Holds every worker's next session while the Grid still offers a node that is gone.

    A node killed mid-batch stays UP for the Grid until its next health check; a session sent there
    meanwhile fails within a second, and the retry after it, sent there too, used to end its app as
    failed with a live node a few seconds from free.
    """

    def __init__(self, grid_url: str | None, stop: threading.Event, say) -> None:
        self.grid_url, self.stop, self.say = grid_url, stop, say
        self._open = threading.Event()
        self._open.set()
        self._settling = threading.Lock()

    def wait_open(self) -> None:
        """Return once no lost node is being waited out (or the batch is stopping)."""
        while not self._open.wait(GRID_POLL_S) and not self.stop.is_set():
            pass

    def settle(self) -> None:
        """After a lost check: shut the gate until the Grid lists no unanswering node as UP, at most
        GRID_SETTLE_S. A second loss meanwhile waits with the first instead of polling again."""
        if self.grid_url is None:
            return
        if not self._settling.acquire(blocking=False):
            self.wait_open()
            return
        try:
            self._open.clear()
            deadline = time.monotonic() + GRID_SETTLE_S
            gone = unanswering_nodes(self.grid_url)
            if gone:
                self.say(f"[yellow]grid[/] {escape(', '.join(gone))} does not answer; new sessions wait "
                         f"until the Grid marks it down (at most {GRID_SETTLE_S:g} s)")
            while gone and time.monotonic() < deadline and not self.stop.wait(GRID_POLL_S):
                gone = unanswering_nodes(self.grid_url)
        finally:
            self._open.set()
            self._settling.release()


def _first_line(text) -> str:
    return str(text).strip().splitlines()[0][:300] if str(text).strip() else type(text).__name__


def check_problem(result) -> str | None:
    """Why a returned ``run_check`` cannot be trusted as complete (lost node or session), or None.

    A launch in which the app crashed is the app's doing, judged as such, not a reason to retry."""
    if result.error or not result.complete:
        return result.error or "the check did not finish"
    for launch in result.launches:
        if launch.error and not launch.crashed:
            return f"launch {launch.index}: {launch.error}"
    return None


def rule_lists(findings: list[dict]) -> dict[str, list[str]]:
    """verdict -> rule ids whose worst verdict for this app it is."""
    out = {v: [] for v in VERDICTS}
    for rule, (verdict, _) in junit.per_rule(findings).items():
        out[verdict].append(rule)
    return out


def _load_result(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def resolve_target(grid: str | None, appium: str | None, parallel: int | None, platforms: set[str],
                   state_path: Path = DEFAULT_STATE) -> Target:
    """Check the Grid / Appium answers (``EnvironmentProblem`` if not) and pick the worker count."""
    url = grid or appium
    if url is None:
        state = read_state(state_path) if state_path.exists() else None
        if state and farm_alive(state):
            url, grid = state["grid_url"], state["grid_url"]
    if url is None:
        return Target(urls=[], label="private Appium server(s)", parallel=max(parallel or 1, 1))
    url = url.rstrip("/")
    status = appium_status(url, timeout_s=5.0)
    if status is None:
        what = "Selenium Grid" if grid else "Appium server"
        raise EnvironmentProblem(f"{what} unreachable at {url} (GET {url}/status got no answer within 5 s)")
    if "nodes" not in status:
        if grid:
            raise EnvironmentProblem(f"{url} answers /status but is not a Selenium Grid (no nodes listed); "
                                     f"use --appium for a plain Appium server")
        return Target(urls=[url], label=f"Appium {url}", parallel=max(parallel or 1, 1))
    slots = Counter(slot_platform(s.stereotype) for s in grid_slots(status) if s.availability == "UP")
    usable = sum(slots[p] for p in platforms)
    return Target(urls=[url], label=f"Grid {url}", parallel=max(parallel or usable or 1, 1), slots=dict(slots),
                  is_grid=True)


class Batch:
    def __init__(self, entries: list[AppEntry], out_dir: Path, rules: RuleProfile, target: Target, *,
                 probes: int, force: bool, console: Console, check_fn=run_check, capabilities: dict | None = None,
                 record: bool = False):
        self.entries = entries
        self.out_dir = out_dir
        self.rules = rules
        self.target = target
        self.probes = probes
        self.force = force
        self.console = console
        self.check_fn = check_fn
        self.capabilities = dict(capabilities or {})     # --udid, --cap: every app's session gets them
        self.record = record                            # --record: each observe launch recorded too
        self.store = Store(out_dir / "batch.sqlite")
        self.stop = threading.Event()
        self.counts = Counter()
        self.count_lock = threading.Lock()
        self.profiles = {name: load_profile(name) for name in {e.profile for e in entries}}
        self.run_id = 0
        self.gate = GridGate(target.urls[0] if target.is_grid else None, self.stop, self._say)

    # -- one app ------------------------------------------------------------------------------------------
    def check_one(self, entry: AppEntry, url: str | None) -> None:
        folder = self.out_dir / entry.folder
        profile = self.profiles[entry.profile]
        problem, result, started = None, None, time.time()
        for attempt in (1, 2):
            shutil.rmtree(folder, ignore_errors=True)      # an earlier, unfinished attempt's leftovers
            self.gate.wait_open()
            if self.stop.is_set():
                return                    # not started: stays as it was, the next run does it
            attempt_id = self.store.start_attempt(entry.key, self.run_id, attempt)
            started = time.time()
            try:
                extra = {"capabilities": self.capabilities} if self.capabilities else {}
                extra.update({"record": True} if self.record else {})
                result = self.check_fn(entry.app, profile, folder, self.rules, appium_url=url, probes=self.probes,
                                       **extra)
                problem = check_problem(result)
            except Exception as exc:      # noqa: BLE001 - a dead node surfaces as any HTTP/driver error
                result, problem = None, f"{type(exc).__name__}: {_first_line(exc)}"
            if self.stop.is_set():
                self.store.finish_attempt(attempt_id, "interrupted", problem)
                return                    # stays 'running': the next run redoes it
            self.store.finish_attempt(attempt_id, "lost" if problem else "ok", problem)
            if not problem:
                break
            self.gate.settle()
            if attempt == 1:
                self._say(f"[yellow]retry[/] {escape(entry.app)}: {escape(problem)}")
        data = _load_result(folder) or {}
        findings = data.get("findings") or []
        lists = rule_lists(findings)
        if problem:               # failed, retryable: a later run checks it again; never a violation
            verdict, error = "inconclusive", f"check failed twice (node or session lost): {problem}"
            code = EXIT_ENVIRONMENT
        else:
            verdict, error = result.verdict, None
            code = result.exit_code
        duration = round(time.time() - started, 2)
        self.store.done(entry.key, self.run_id, verdict=verdict, exit_code=code, error=error, rules=lists,
                        duration_s=duration, status="failed" if problem else "done")
        with self.count_lock:
            self.counts["failed" if problem else "done"] += 1
        style = {"violation": "bold red", "warning": "yellow", "pass": "green"}.get(verdict, "dim")
        bad = " ".join(lists["violation"])
        self._say(f"[{style}]{verdict:12}[/] {escape(entry.app)}  {escape(bad)}  ({duration:.0f} s)")

    def _say(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    # -- the pool -----------------------------------------------------------------------------------------
    def run(self, todo: list[AppEntry], progress: Progress | None) -> bool:
        """Check ``todo`` on ``target.parallel`` worker threads; False if interrupted."""
        queue = list(todo)
        queue_lock = threading.Lock()
        running = Counter()
        task = progress.add_task("apps", total=len(self.entries), completed=len(self.entries) - len(todo),
                                 status="") if progress else None

        def worker(url: str | None) -> None:
            while not self.stop.is_set():
                with queue_lock:
                    if not queue:
                        return
                    entry = queue.pop(0)
                    running["n"] += 1
                try:
                    self.check_one(entry, url)
                except Exception as exc:       # noqa: BLE001 - never let one app end the batch silently
                    self._say(f"[red]error[/] {escape(entry.app)}: {escape(_first_line(exc))}")
                    with self.count_lock:
                        self.counts["errors"] += 1
                finally:
                    with queue_lock:
                        running["n"] -= 1
                    if progress is not None and not self.stop.is_set():
                        progress.advance(task)

        urls = self.target.urls or [None] * self.target.parallel
        threads = [threading.Thread(target=worker, args=(urls[i % len(urls)],), daemon=True,
                                    name=f"batch-worker-{i + 1}") for i in range(self.target.parallel)]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                if progress is not None:
                    progress.update(task, status=f"running {running['n']} · done {self.counts['done']} · "
                                                 f"failed {self.counts['failed'] + self.counts['errors']}")
                for t in threads:
                    t.join(timeout=0.25)
        except KeyboardInterrupt:
            self.stop.set()
            return False
        if progress is not None:
            progress.update(task, status=f"done {self.counts['done']} · "
                                         f"failed {self.counts['failed'] + self.counts['errors']}")
        return True

    # -- reports ------------------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        rows = []
        for entry in self.entries:
            row = self.store.row(entry.key)
            folder = self.out_dir / entry.folder
            done = row is not None and row["status"] in FINISHED
            data = _load_result(folder) if done else None
            device = ""
            if data:
                reported = (data.get("device") or {}).get("reported") or {}
                device = entry.profile + (f" {reported.get('width_px')}x{reported.get('height_px')}"
                                          if reported.get("width_px") else "")
            rows.append({
                "app": entry.app, "platform": entry.platform, "profile": entry.profile, "device": device,
                "folder": entry.folder, "line": entry.line,
                "status": row["status"] if row is not None else "pending",
                "verdict": row["verdict"] if done else "",
                "violations": (row["violations"] or "") if done else "",
                "warnings": (row["warnings"] or "") if done else "",
                "inconclusive": (row["inconclusive"] or "") if done else "",
                "duration_s": row["duration_s"] if done else None,
                "attempts": row["attempts"] if row is not None else 0,
                "error": (row["error"] or "") if row is not None else "",
                "report": f"{entry.folder}/report.html" if done and (folder / "report.html").exists() else "",
                "thumb": thumbnail(folder, data) if data else "",
                "findings": (data or {}).get("findings") or [],
            })
        return rows

    def write_reports(self, bad_lines: list) -> dict[str, Path]:
        rows = self.rows()
        paths = {"csv": write_csv(self.out_dir / "summary.csv", rows),
                 "junit": junit.write(self.out_dir / "junit.xml", [
                     {"app": r["app"], "folder": r["folder"], "verdict": r["verdict"] or "not checked",
                      "duration_s": r["duration_s"], "findings": r["findings"],
                      "problem": (r["error"] or None) if r["status"] in FINISHED else
                      (r["error"] or "not checked yet (the batch was interrupted before this app)")}
                     for r in rows]),
                 "html": write_summary_html(self.out_dir / "summary.html", rows, bad_lines, self.target.label)}
        return paths


# -- report writers ---------------------------------------------------------------------------------------

def _key_frame(data: dict) -> str | None:
    """The frame that best shows the app's splash ad / pop-up: the first ad-like frame of the first launch
    that kept one, else the first frame kept at all."""
    frames = [f for launch in data.get("launches") or [] for f in launch.get("frames") or [] if f.get("file")]
    for f in frames:
        if f.get("kind") in ("splash_ad", "popup", "permission"):
            return f["file"]
    return frames[0]["file"] if frames else None


def thumbnail(folder: Path, data: dict) -> str:
    """``thumb.jpg`` (180 px wide) of the key frame's annotated image, beside result.json; its relative
    path from the batch directory, or "" when the app kept no frame."""
    name = _key_frame(data)
    if not name:
        return ""
    thumb = folder / "thumb.jpg"
    if not thumb.exists():
        import cv2
        source = folder / name.replace(".png", ".annotated.png")
        image = cv2.imread(str(source if source.exists() else folder / name))
        if image is None:
            return ""
        height, width = image.shape[:2]
        small = cv2.resize(image, (180, max(1, round(height * 180 / width))), interpolation=cv2.INTER_AREA)
        tmp = folder / "thumb.tmp.jpg"
        cv2.imwrite(str(tmp), small, [cv2.IMWRITE_JPEG_QUALITY, 82])
        tmp.replace(thumb)
    return f"{folder.name}/thumb.jpg"


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (app text is untrusted)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(path: Path, rows: list[dict]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) if c != "duration_s" else
                         ("" if row[c] is None else f"{row[c]:.1f}") for c in CSV_COLUMNS])
    # BOM: spreadsheets then read the Chinese right.
    return atomic.write_text(path, buffer.getvalue(), encoding="utf-8-sig")


SORT_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("apps");
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, column) {
    if (!th.hasAttribute("data-sort")) return;
    th.tabIndex = 0;
    function sort() {
      var down = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", down ? "ascending" : "descending");
      var numeric = th.getAttribute("data-sort") === "number";
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-v"), y = b.cells[column].getAttribute("data-v");
        var r = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
        return down ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
  });
  document.body.setAttribute("data-sortable", "1");
})();
"""


def write_summary_html(path: Path, rows: list[dict], bad_lines: list, target: str) -> Path:
    """summary.html: rows pre-sorted worst first; the table sorts by any column with a small inline script
    allowed by its sha256 in the page's Content-Security-Policy (and by nothing else)."""
    digest = hashlib.sha256(SORT_SCRIPT.encode("utf-8")).digest()
    script_hash = "sha256-" + base64.b64encode(digest).decode("ascii")
    ordered = sorted(rows, key=lambda r: (_SEVERITY.get(r["verdict"], 4), r["app"]))
    per_rule = {rule: Counter() for rule in RULE_IDS}
    for row in rows:
        for rule, (verdict, _) in junit.per_rule(row["findings"]).items():
            per_rule.setdefault(rule, Counter())[verdict] += 1
    totals = Counter(r["verdict"] or "not checked" for r in rows)
    for row in ordered:
        row["severity"] = _SEVERITY.get(row["verdict"], 4)
    return html.write_page(path, "summary.html", rows=ordered, per_rule=per_rule, verdicts=VERDICTS,
                           totals=totals, bad_lines=[str(b) for b in bad_lines], target=target,
                           script=SORT_SCRIPT, script_hash=script_hash,
                           generated=time.strftime("%Y-%m-%d %H:%M:%S"))


# -- the command ------------------------------------------------------------------------------------------

@dataclass
class BatchOutcome:
    exit_code: int
    checked: int = 0
    skipped_done: int = 0
    bad_lines: list = field(default_factory=list)
    reports: dict = field(default_factory=dict)


def run_batch(apps_file: Path, out_dir: Path, rules: RuleProfile, *, grid: str | None = None,
              appium: str | None = None, parallel: int | None = None, platform: str | None = None,
              profile: str | None = None, force: bool = False, probes: int = 5,
              state_path: Path = DEFAULT_STATE, console: Console | None = None, check_fn=run_check,
              capabilities: dict | None = None, record: bool = False) -> BatchOutcome:
    console = console or Console(stderr=True, highlight=False)
    try:
        entries, bad_lines = read_apps(apps_file, default_platform=platform, default_profile=profile)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"splashaudit: {apps_file}: cannot read the APPS file ({_first_line(exc)})", file=sys.stderr)
        return BatchOutcome(EXIT_USAGE)
    for bad in bad_lines:
        print(f"splashaudit: {bad}", file=sys.stderr)          # one line each, never wrapped
    if not entries:
        print(f"splashaudit: {apps_file}: no app to check", file=sys.stderr)
        return BatchOutcome(EXIT_USAGE, bad_lines=bad_lines)
    out_dir.mkdir(parents=True, exist_ok=True)
    platforms = {e.platform for e in entries}
    target = resolve_target(grid, appium, parallel, platforms, state_path)   # EnvironmentProblem -> exit 3
    if (capabilities or {}).get("appium:udid") and target.parallel > 1:
        console.print(f"--udid pins one phone: checks run one at a time (not {target.parallel})", highlight=False)
        target.parallel = 1
    batch = Batch(entries, out_dir, rules, target, probes=probes, force=force, console=console,
                  check_fn=check_fn, capabilities=capabilities, record=record)
    todo, already = [], 0
    for entry in entries:
        batch.store.register(entry)
        row = batch.store.row(entry.key)
        if row["status"] == "done" and not force:
            already += 1
            continue
        if target.is_grid and not target.slots.get(entry.platform):
            reason = (f"no Grid node offers platform {entry.platform} (nodes: "
                      f"{', '.join(f'{k} {v}' for k, v in sorted(target.slots.items())) or 'none'})")
            batch.store.failed(entry.key, reason)
            print(f"splashaudit: {entry.app}: {reason}", file=sys.stderr)
            continue
        batch.store.reset(entry.key)
        todo.append(entry)
    run_id = batch.run_id = batch.store.begin_run(target.label, target.parallel, len(todo), already)
    console.print(f"{len(entries)} app(s): {already} already done, {len(todo)} to check on {escape(target.label)} "
                  f"with {target.parallel} at once", highlight=False, soft_wrap=True)
    previous_term = None
    if threading.current_thread() is threading.main_thread():
        def on_term(signum, frame):
            raise KeyboardInterrupt
        previous_term = signal.signal(signal.SIGTERM, on_term)
    completed = True
    try:
        with ExitStack() as stack:
            if not target.urls and todo:
                servers = [stack.enter_context(AppiumServer(out_dir / "logs", extra_args=driver_args(platforms)))
                           for _ in range(target.parallel)]
                target.urls = [s.url for s in servers]
            progress = stack.enter_context(Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console, transient=False))
            batch.console = progress.console
            completed = batch.run(todo, progress)
    except KeyboardInterrupt:
        batch.stop.set()
        completed = False
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    reports = batch.write_reports(bad_lines)
    codes = [r["exit_code"] for r in batch.store._do("SELECT exit_code FROM apps WHERE key IN (%s)" % ",".join(
        "?" * len(entries)), [e.key for e in entries]).fetchall()]
    not_done = [r for r in batch.store._do("SELECT status FROM apps WHERE key IN (%s)" % ",".join(
        "?" * len(entries)), [e.key for e in entries]).fetchall() if r["status"] != "done"]
    if not completed:
        code = EXIT_INTERRUPTED
    elif EXIT_VIOLATION in codes:
        code = EXIT_VIOLATION
    elif EXIT_ENVIRONMENT in codes or not_done:
        code = EXIT_ENVIRONMENT
    elif bad_lines:
        code = EXIT_USAGE
    else:
        code = EXIT_OK
    batch.store.end_run(run_id, code)
    batch.store.close()
    console.print(f"summary: {reports['html']} · {reports['csv'].name} · {reports['junit'].name}", highlight=False)
    return BatchOutcome(code, checked=len(todo), skipped_done=already, bad_lines=bad_lines, reports=reports)
