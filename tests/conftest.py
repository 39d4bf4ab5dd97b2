"""Shared pytest fixtures. Others may add theirs below; keep these session-scoped and cheap to share.

- ``appium_server``: the project's own Appium server (one per test session), ``.url`` to connect to.
- ``fixture_apps``: fixtures/apps served on two loopback origins; ``fixture_apps.url("compliant")``
  is an app's launch URL, ``fixture_apps.app_origin`` / ``landing_origin`` the two origins.
- ``fixture_videos``: (folder, manifest) of the fixture apps' recordings as MP4 files (built once).
- ``web_device``: one Chromium phone (chromium-phone profile) for the session; call
  ``web_device.cold_launch(url)`` at the start of each test, which resets windows, cookies and storage.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from crawler.appium_server import AppiumServer
from crawler.profiles import load_profile
from crawler.webserve import FIXTURE_APPS_DIR, FixtureSite, StaticServer, fixture_site


@pytest.fixture(scope="session")
def appium_server(tmp_path_factory):
    with AppiumServer(log_dir=tmp_path_factory.mktemp("appium-logs")) as server:
        yield server


@pytest.fixture(scope="session")
def fixture_apps() -> FixtureSite:
    with StaticServer(FIXTURE_APPS_DIR, origins=2) as server:
        yield fixture_site(server)


@pytest.fixture(scope="session")
def web_device(appium_server):
    from crawler.devices.web import WebDevice

    # Tests using it sit minutes apart in the run (test_devices_web early, test_shake_e2e late):
    # Appium's idle limit (300 s for web sessions) would end the session between them.
    never_idle_out = {"appium:newCommandTimeout": 0}
    with WebDevice.connect(load_profile("chromium-phone"), appium_server.url,
                           capabilities=never_idle_out) as device:
        yield device


ROOT = Path(__file__).resolve().parent.parent
#: The fixture recordings re-encoded as a phone's recorder gives them (720 px wide, 15 fps).
COPIES = ("late_close", "fade_close", "photo_ad-close")


@pytest.fixture(scope="session")
def fixture_videos() -> tuple[Path, dict]:
    """(folder of MP4 files, the takes' manifest), built from the committed archive once per archive."""
    sys.path.insert(0, str(ROOT / "fixtures"))
    import record_videos

    digest = hashlib.sha256()
    for part in ("fixtures/videos/tiles.jpg", "fixtures/videos/takes.json.gz",
                 f"fixtures/videos/{record_videos.WHOLE_FILE}", "fixtures/record_videos.py", "crawler/video/encode.py"):
        digest.update((ROOT / part).read_bytes())
    folder = ROOT / "build" / f"videos-{digest.hexdigest()[:12]}"
    done = folder / "built.json"
    if not done.exists():
        takes = record_videos.build_videos(folder, copies=list(COPIES))
        done.write_text(json.dumps(takes, ensure_ascii=False))
    return folder, json.loads(done.read_text())
