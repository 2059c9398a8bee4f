"""Headless Chromium from the system packages, driven by Playwright (never a downloaded browser).

Used by the web view's tests and its benchmark. ``chromium_or_skip()`` skips with a clear
message when the browser or Playwright is genuinely absent (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: Debian's chromium; $TRACKER_CHROMIUM overrides.
CHROMIUM = os.environ.get("TRACKER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
#: Headless, and nothing that talks to the internet.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",  # the cues play without a tap
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run does it)"
    return None


async def launch(pw):
    """A headless browser: the system Chromium with the flags above."""
    return await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
