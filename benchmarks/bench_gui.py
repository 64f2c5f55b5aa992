"""Cockpit transport on loopback: the WebSocket page against the polling page it replaced.

Both run in the same process, one after the other, in the same headless Chromium:
- **baseline**: the stdlib ``http.server`` page of commit ``BASELINE_COMMIT`` (POST /state
  at 30 Hz, each reply carrying the status; a camera frame fetched by GET when the status
  shows a new one), extracted from git into a temporary package;
- **new**: this tree's aiohttp page (states over a WebSocket, acks, status and frames
  pushed).

Measured per page over ``--seconds``, while a thread publishes 128x128 frames on an
inproc bus at ``--fps``:
- command round trip (ms, p50/p99): a state leaving the page until the page holds the
  server's answer to it (baseline: the POST's reply; new: its ack);
- frame delivery: distinct frames the page put on screen per second, against the rate
  published (counted by a MutationObserver on the image's ``data-seq``, the same for both).

    python benchmarks/bench_gui.py [--seconds 8] [--fps 30]
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import Image
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.nodes.convert import image_to_msg

BASELINE_COMMIT = "de8b0ba"  # the last commit with the polling page
REPO = Path(__file__).resolve().parents[1]

# Runs before the page's own script: times every POST /state (the baseline's commands)
# and counts distinct frames shown, the same way for both pages.
PROBE_JS = """
window.__bench = { rtts: [], seqs: new Set() };
const _fetch = window.fetch;
window.fetch = async function (url, opts) {
  const t = performance.now();
  const r = await _fetch(url, opts);
  if (String(url).startsWith('/state')) {
    const body = await r.clone().text();
    window.__bench.rtts.push(performance.now() - t);
  }
  return r;
};
new MutationObserver((ms) => {
  for (const m of ms) if (m.target.id === 'camera-front' && m.target.dataset.seq)
    window.__bench.seqs.add(m.target.dataset.seq);
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-seq'] });
"""


def baseline_package(tmp: Path) -> Any:
    """The polling GUI of BASELINE_COMMIT as the importable package ``gui_baseline``."""
    pkg = tmp / "gui_baseline"
    (pkg / "static").mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", BASELINE_COMMIT, "robot_rl/gui/"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        text = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:{name}"],
            cwd=REPO, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        text = re.sub(r"robot_rl\.gui\b", "gui_baseline", text)
        (pkg / name.removeprefix("robot_rl/gui/")).write_text(text)
    sys.path.insert(0, str(tmp))
    return importlib.import_module("gui_baseline.device")


def chromium() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-timer-throttling", "--window-size=1200,900"):  # fmt: skip
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE_JS})
    return driver


def publish_frames(bus: InprocBus, fps: float, stop: threading.Event, sent: list[int]) -> None:
    pub = bus.publisher("cameras/front/image_raw", Image)
    rng = np.random.default_rng(0)
    period, t_next, n = 1.0 / fps, time.monotonic(), 0
    while not stop.is_set():
        n += 1
        rgb = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
        pub.publish(image_to_msg(rgb, Time.from_ns(n), "front"))
        sent[0] = n
        t_next += period
        time.sleep(max(0.0, t_next - time.monotonic()))


def measure(driver: Any, device: Any, seconds: float, fps: float, new: bool) -> dict[str, float]:
    from selenium.webdriver.common.by import By

    bus = InprocBus()
    device.open()
    device.attach_bus(bus)
    driver.get(device.url)
    time.sleep(1.0)
    if new:
        driver.find_element(By.CSS_SELECTOR, "#take-control").click()
        time.sleep(0.5)
    stop, sent = threading.Event(), [0]
    driver.execute_script("window.__bench.rtts.length = 0; window.__bench.seqs.clear()")
    if new:
        driver.execute_script("window.__cockpit.rtts.length = 0")
    pub = threading.Thread(target=publish_frames, args=(bus, fps, stop, sent), daemon=True)
    t0 = time.monotonic()
    pub.start()
    time.sleep(seconds)
    stop.set()
    pub.join()
    wall = time.monotonic() - t0
    rtts = driver.execute_script(
        "return window.__cockpit ? window.__cockpit.rtts : window.__bench.rtts"
    )
    shown = driver.execute_script("return window.__bench.seqs.size")
    device.close()
    bus.close()
    r = np.asarray(rtts, float)
    return {
        "commands": len(r),
        "rtt_p50_ms": float(np.percentile(r, 50)),
        "rtt_p99_ms": float(np.percentile(r, 99)),
        "published_fps": sent[0] / wall,
        "shown_fps": shown / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--fps", type=float, default=30.0)
    args = ap.parse_args()
    from robot_rl.gui.config import GuiConfig
    from robot_rl.gui.device import BrowserDevice

    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_package(Path(tmp))
        driver = chromium()
        try:
            cams = ("front",)
            old_dev = old.BrowserDevice(old.GuiConfig(port=0, cameras=cams, timeout_s=1.5))
            base = measure(driver, old_dev, args.seconds, args.fps, new=False)
            new_dev = BrowserDevice(GuiConfig(port=0, cameras=cams, timeout_s=1.5))
            new = measure(driver, new_dev, args.seconds, args.fps, new=True)
        finally:
            driver.quit()
    print(f"{'':24}{'baseline (polling)':>20}{'new (WebSocket)':>18}{'new/baseline':>14}")
    for key in ("commands", "rtt_p50_ms", "rtt_p99_ms", "published_fps", "shown_fps"):
        b, n = base[key], new[key]
        print(f"{key:24}{b:20.2f}{n:18.2f}{n / b if b else float('nan'):14.2f}")
    for name, r in (("baseline", base), ("new", new)):
        print(f"{name}: frame delivery {r['shown_fps'] / r['published_fps']:.0%} of published")


if __name__ == "__main__":
    main()
