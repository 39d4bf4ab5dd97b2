"""Finding and reading screenshot files, with one clear line for every file that cannot be used."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
#: Larger than any phone screen by far; a bigger file is refused before it is decoded.
MAX_IMAGE_PIXELS = 40_000_000


class ImageInputError(ValueError):
    """A file that is not a usable screenshot; str() is the one-line reason."""


@dataclass(frozen=True)
class ImageInput:
    given: str      # the path as the user gave it (or as found in a folder they gave)
    path: Path


def collect(paths: list[str]) -> list[ImageInput]:
    """Images named directly, and the images inside named folders (sorted, not recursive)."""
    found = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.suffix.lower() in IMAGE_SUFFIXES and child.is_file():
                    found.append(ImageInput(str(child), child))
        else:
            found.append(ImageInput(given, path))
    return found


def read_bgr(path: Path) -> np.ndarray:
    """Decode a PNG, JPEG or WebP file to a BGR uint8 array, or raise ImageInputError."""
    if not path.exists():
        raise ImageInputError("no such file")
    if path.is_dir():
        raise ImageInputError("is a folder with no images")
    if path.stat().st_size == 0:
        raise ImageInputError("empty file")
    try:
        with Image.open(path) as image:
            w, h = image.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ImageInputError(f"image too large ({w} x {h} px; limit {MAX_IMAGE_PIXELS:,} px)")
            if w < 16 or h < 16:
                raise ImageInputError(f"image too small ({w} x {h} px)")
            rgb = np.asarray(image.convert("RGB"))
    except Image.DecompressionBombError:
        raise ImageInputError("image too large (decompression bomb guard)") from None
    except UnidentifiedImageError:
        raise ImageInputError("not an image (PNG, JPEG or WebP expected)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageInputError(f"cannot decode image: {exc}") from None
    return np.ascontiguousarray(rgb[:, :, ::-1])
