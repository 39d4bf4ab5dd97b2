"""The APPS file of `splashaudit batch`: one app a line, with an optional platform and device profile.

::

    # comments start with '#' (at the start of a line, or after a blank inside one)
    https://h5.example.com/                      # a URL is a web (H5) app on the chromium-phone profile
    com.example.shop  android                    # a package id; platform given as a bare word
    com.example.App   ios  iphone-1179x2556-3    # bundle id, platform and profile
    com.example.news  profile=android-1080x2400-3.0   # or as key=value (platform=, profile=)

A line that cannot be understood (unknown platform or profile, a profile for another platform, an app
that is neither a URL nor a package/bundle id, a repeated app) is reported as ``file:line: reason`` and
skipped; the other lines still run.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from crawler.profiles import ProfileError, available_profiles, load_profile

PLATFORMS = ("android", "ios", "web")
DEFAULT_PROFILES = {"web": "chromium-phone", "android": "android-1080x2400-2.625", "ios": "iphone-1179x2556-3"}
_PACKAGE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$")
_URL_SCHEMES = ("http", "https", "file")


@dataclass(frozen=True)
class AppEntry:
    """One app to check. ``key`` names it for resuming (app + platform + profile); ``folder`` is its
    output folder name inside the batch directory (readable, unique, filesystem-safe)."""

    app: str
    platform: str
    profile: str
    line: int
    source: str

    @property
    def key(self) -> str:
        return f"{self.platform}\t{self.profile}\t{self.app}"

    @property
    def folder(self) -> str:
        return app_folder(self.key, self.app)


@dataclass(frozen=True)
class BadLine:
    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


def is_url(app: str) -> bool:
    parts = urllib.parse.urlsplit(app)
    return parts.scheme in _URL_SCHEMES and (bool(parts.netloc) or parts.scheme == "file")


def app_folder(key: str, app: str) -> str:
    """``<slug>-<hash8>``: a readable slug of the app (host and path of a URL) and a hash of the key."""
    parts = urllib.parse.urlsplit(app)
    readable = f"{parts.netloc}{parts.path}" if is_url(app) else app
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", readable).strip("._-")[:48] or "app"
    return f"{slug}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


def _strip_comment(text: str) -> str:
    if text.lstrip().startswith("#"):
        return ""
    return re.split(r"\s#", text, maxsplit=1)[0]   # '#' inside a URL (a fragment) is part of it


def parse_line(text: str, *, default_platform: str | None = None, default_profile: str | None = None,
               known_profiles: dict[str, str] | None = None) -> tuple[str, str, str] | str | None:
    """``(app, platform, profile)``, a reason string for a malformed line, or None for a blank one.

    ``known_profiles`` maps profile name -> platform (read from device_profiles/ when not given).
    """
    fields = _strip_comment(text).split()
    if not fields:
        return None
    if known_profiles is None:
        known_profiles = _profile_platforms()
    app, rest = fields[0], fields[1:]
    url = is_url(app)
    if not url and "://" in app:
        return f"{app!r} is not an http(s) or file URL"
    if not url and not _PACKAGE_ID.match(app):
        return f"{app!r} is neither a URL nor a package or bundle id (like com.example.app)"
    platform = profile = None
    for token in rest:
        key, eq, value = token.partition("=")
        if eq:
            if key not in ("platform", "profile") or not value:
                return f"unknown field {token!r} (use platform=android|ios|web, profile=NAME)"
        else:
            key, value = ("platform", token) if token in PLATFORMS else ("profile", token)
        if key == "platform":
            if value not in PLATFORMS:
                return f"unknown platform {value!r} (android, ios or web)"
            if platform and platform != value:
                return f"two platforms given ({platform}, {value})"
            platform = value
        else:
            if value not in known_profiles:
                return f"unknown profile or platform {value!r} (profiles: {', '.join(sorted(known_profiles))})"
            if profile and profile != value:
                return f"two profiles given ({profile}, {value})"
            profile = value
    if platform is None and profile is not None:
        platform = known_profiles[profile]
    if platform is None:
        platform = "web" if url else (default_platform if default_platform in ("android", "ios") else "android")
    if platform == "web" and not url:
        return f"{app!r}: a web app must be a URL"
    if url and platform != "web":
        return f"{app!r}: a URL is a web app, not {platform}"
    if profile is None:
        wanted = default_profile if default_profile and known_profiles.get(default_profile) == platform else None
        profile = wanted or DEFAULT_PROFILES[platform]
    if known_profiles.get(profile) != platform:
        return f"profile {profile} is for {known_profiles.get(profile)}, not {platform}"
    return app, platform, profile


def _profile_platforms() -> dict[str, str]:
    found = {}
    for name in available_profiles():
        try:
            found[name] = load_profile(name).platform
        except ProfileError:
            continue
    return found


def read_apps(path: Path, *, default_platform: str | None = None,
              default_profile: str | None = None) -> tuple[list[AppEntry], list[BadLine]]:
    """Every good line of ``path`` as an ``AppEntry`` (file order) and every bad one as a ``BadLine``.

    Raises ``OSError`` / ``UnicodeDecodeError`` when the file itself cannot be read.
    """
    source = str(path)
    known = _profile_platforms()
    entries: list[AppEntry] = []
    bad: list[BadLine] = []
    seen: dict[str, int] = {}
    text = Path(path).read_text(encoding="utf-8-sig")
    for number, line in enumerate(text.splitlines(), start=1):
        parsed = parse_line(line, default_platform=default_platform, default_profile=default_profile,
                            known_profiles=known)
        if parsed is None:
            continue
        if isinstance(parsed, str):
            bad.append(BadLine(source, number, parsed))
            continue
        entry = AppEntry(*parsed, line=number, source=source)
        if entry.key in seen:
            bad.append(BadLine(source, number, f"{entry.app!r} repeats line {seen[entry.key]}"))
            continue
        seen[entry.key] = number
        entries.append(entry)
    return entries, bad
