"""The screenshot in docs/gui.md: the cockpit on a live twin cell, with a run's curves.

Starts `TwinCellRig` (twin node rendering two cameras, impedance bridge, a scripted
policy on one inproc bus, stepped at real time in this thread), serves the cockpit on it
with ``--run-dir``'s metrics.csv as the learning curves, opens it in headless Chromium,
takes control, and saves a PNG.

    python benchmarks/gui_screenshot.py --run-dir runs/reach-state-s0 --out docs/gui.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from robot_rl.gui.config import GuiConfig
from robot_rl.gui.device import BrowserDevice
from robot_rl.gui.twin_cell import TwinCellRig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", default="docs/gui.png")
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    rig = TwinCellRig(cameras=("front", "wrist"), image_px=128)
    rig.action[:] = [0.3, 0.2, 0, 0, 0, 0, 1.0]
    device = BrowserDevice(GuiConfig(port=0, run_dir=args.run_dir, timeout_s=1.5))
    device.open()
    device.attach_bus(rig.bus)
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    try:
        driver.get(device.url)
        rig.run_for(1.5)  # the rig renders in this thread (its GL context lives here)
        driver.find_element(By.CSS_SELECTOR, "#take-control").click()
        rig.run_for(3.0)
        driver.save_screenshot(str(Path(args.out)))
        print(f"saved {args.out}")
    finally:
        driver.quit()
        rig.halt()
        device.close()
        rig.stop()


if __name__ == "__main__":
    main()
