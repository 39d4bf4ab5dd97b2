"""A tiny threaded static HTTP server for the web fixture apps, on free loopback ports.

One ``StaticServer`` serves one directory under several origins at once (one port each, all on
127.0.0.1), so that a fixture app on the first origin can send its ad's landing page to the second:
to the browser that is another origin, i.e. a jump out of the app.

>>> with StaticServer(FIXTURE_APPS_DIR, origins=2) as site:
...     site.origins          # ["http://127.0.0.1:41001", "http://127.0.0.1:41002"]
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_APPS_DIR = PROJECT_ROOT / "fixtures" / "apps"
LOOPBACK = "127.0.0.1"


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static files, never cached (every cold launch must load the app afresh), no console log."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        pass


_QuietHandler.extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                                ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                                ".css": "text/css; charset=utf-8"}


class StaticServer:
    """Serve ``directory`` on ``origins`` free loopback ports; a context manager.

    ``origins`` lists the base URLs (no trailing slash), the first one being the app's own origin.
    """

    def __init__(self, directory: Path | str, *, origins: int = 2, host: str = LOOPBACK) -> None:
        if origins < 1:
            raise ValueError("origins must be >= 1")
        self.directory = Path(directory).resolve()
        if not self.directory.is_dir():
            raise FileNotFoundError(f"{self.directory}: no such directory to serve")
        self.host = host
        self.origin_count = origins
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

    @property
    def origins(self) -> list[str]:
        return [f"http://{self.host}:{srv.server_address[1]}" for srv in self._servers]

    def __enter__(self) -> StaticServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        if self._servers:
            return
        handler = partial(_QuietHandler, directory=str(self.directory))
        try:
            for _ in range(self.origin_count):
                srv = ThreadingHTTPServer((self.host, 0), handler)
                srv.daemon_threads = True
                thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                          name=f"webserve-{srv.server_address[1]}", daemon=True)
                thread.start()
                self._servers.append(srv)
                self._threads.append(thread)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop serving and close the sockets. Safe to call more than once."""
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._servers, self._threads = [], []


@dataclass(frozen=True)
class FixtureSite:
    """Where the fixture apps are served: ``app_origin`` runs the apps, ``landing_origin`` is elsewhere.

    ``url("compliant")`` is the app's launch URL; it tells the app where its ad's landing page lives
    (``?landing=<landing_origin>/common/landing.html``), see fixtures/apps/README.md.
    """

    app_origin: str
    landing_origin: str
    directory: Path = FIXTURE_APPS_DIR

    def landing_url(self, app: str) -> str:
        return f"{self.landing_origin}/common/landing.html?from={urllib.parse.quote(app)}"

    def url(self, app: str) -> str:
        if not (self.directory / app / "index.html").is_file():
            raise FileNotFoundError(f"{app}: no fixture app {self.directory / app / 'index.html'}")
        landing = urllib.parse.quote(self.landing_url(app), safe="")
        return f"{self.app_origin}/{app}/index.html?landing={landing}"

    def apps(self) -> list[str]:
        return sorted(p.parent.name for p in self.directory.glob("*/index.html") if p.parent.name != "common")


def fixture_site(server: StaticServer) -> FixtureSite:
    """The fixture apps as served by a running two-origin ``server``."""
    origins = server.origins
    if len(origins) < 2:
        raise ValueError("fixture apps need a server with two origins (one for their landing pages)")
    return FixtureSite(app_origin=origins[0], landing_origin=origins[1], directory=server.directory)
