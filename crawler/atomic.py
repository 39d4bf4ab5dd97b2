"""Writing result files so that a reader (or a crash) never sees half of one."""

from __future__ import annotations

import json
from pathlib import Path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` beside ``path`` and move it into place in one step."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding=encoding)
    tmp.replace(path)
    return path


def write_json(path: Path, data) -> Path:
    return write_text(path, json.dumps(data, ensure_ascii=False, indent=1))
