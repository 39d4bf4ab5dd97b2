"""Device profiles: one small TOML file per device in ``device_profiles/``."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from vision.types import Display

PROFILE_DIR = Path(__file__).resolve().parent.parent / "device_profiles"
MM_PER_INCH = 25.4


class ProfileError(ValueError):
    """A profile that is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    platform: str                      # android | ios | web
    screen_px: tuple[int, int]
    density: float                     # px per dp (iOS: scale)
    diagonal_in: float | None = None
    status_bar_dp: float = 0.0
    gesture_bar_dp: float = 0.0
    capabilities: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def px_per_mm(self) -> float | None:
        """Physical pixel pitch from the diagonal; None where the profile does not give it."""
        if not self.diagonal_in:
            return None
        w, h = self.screen_px
        return math.hypot(w, h) / (self.diagonal_in * MM_PER_INCH)

    def display(self, size_px: tuple[int, int] | None = None) -> Display:
        """The display for a screenshot; a screenshot of another size keeps density, scales the pitch."""
        w, h = size_px or self.screen_px
        pitch = self.px_per_mm
        if pitch and size_px and size_px != self.screen_px:
            pitch *= math.hypot(w, h) / math.hypot(*self.screen_px)
        return Display(width_px=w, height_px=h, density=self.density, px_per_mm=pitch,
                       status_bar_dp=self.status_bar_dp, gesture_bar_dp=self.gesture_bar_dp)


def available_profiles(directory: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_profile(name_or_path: str, directory: Path = PROFILE_DIR) -> DeviceProfile:
    """Load a profile by name (``chromium-phone``) or by path to a TOML file."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = directory / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(available_profiles(directory))
        raise ProfileError(f"{name_or_path}: unknown device profile (known: {known})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        w, h = (int(v) for v in data["screen_px"])
        return DeviceProfile(
            name=str(data.get("name", path.stem)), platform=str(data["platform"]),
            screen_px=(w, h), density=float(data["density"]),
            diagonal_in=float(data["diagonal_in"]) if "diagonal_in" in data else None,
            status_bar_dp=float(data.get("status_bar_dp", 0)),
            gesture_bar_dp=float(data.get("gesture_bar_dp", 0)),
            capabilities=dict(data.get("capabilities", {})), path=path)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{path}: malformed device profile: {exc}") from None
