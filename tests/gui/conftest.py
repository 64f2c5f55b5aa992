"""GUI tier: the intervention page in a real headless Chromium, driven by Selenium.

Chromium and its WebDriver come from Debian (``chromium``, ``chromium-driver``; installed by
scripts/setup.sh). Without them these tests skip locally and FAIL under CI (``CI`` set),
so a CI image that lost the browser cannot pass silently.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)


def in_ci() -> bool:
    """True on a CI runner (``CI`` set to anything but empty, 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> NoReturn:
    """Skip locally, fail under CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI must run the browser tests; see scripts/setup.sh)")
    pytest.skip(reason)


def _which(names: tuple[str, ...], env: str) -> str | None:
    """``$env`` if set (None when that file is missing), else the first of ``names`` found."""
    if os.environ.get(env):
        return os.environ[env] if os.path.isfile(os.environ[env]) else None
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole GUI tier (starting one costs about a second)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install -e '.[dev]')")
    chromium = _which(BROWSERS, "ROBOT_RL_CHROMIUM")
    driver_path = _which(DRIVERS, "ROBOT_RL_CHROMEDRIVER")
    if chromium is None or driver_path is None:
        missing(
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
    opts = Options()
    opts.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where the sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        "--no-first-run",
        "--disable-extensions",
        # A hidden or background page must not be throttled by the browser in the tests
        # that keep it in front; the timeout test closes the tab instead.
        "--disable-background-timer-throttling",
    ):
        opts.add_argument(arg)
    # An explicit driver path: Selenium Manager must not try to download one (no internet).
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()
