"""Rendering reports with jinja2. Autoescaping is on for every template: app text is untrusted."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from crawler import atomic


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=PackageLoader("crawler", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True))


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def write_page(path: Path, template: str, **context) -> Path:
    """Render a template to ``path`` atomically (a reader never sees half a page)."""
    return atomic.write_text(path, render(template, **context))
