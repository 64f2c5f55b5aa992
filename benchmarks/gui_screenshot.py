"""The screenshot in docs/gui.md: the cockpit attached to a twin training run.

Runs `robot_rl.train.run.train` in-process with a `TrainCockpit`, exactly as ``robot-rl
train --gui`` does (the job on its own thread, which owns the twin's renderer), opens the
page in headless Chromium, takes control once the evaluations have drawn their curves,
labels one episode a success, pauses, and saves a PNG.

    python benchmarks/gui_screenshot.py --out docs/gui.png   # about 2 min on 2 cores
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from robot_rl.gui.config import GuiConfig
from robot_rl.loop.control import EpisodeControl
from robot_rl.train.cockpit import CAMERA, TrainCockpit, open_cockpit
from robot_rl.train.config import run_config
from robot_rl.train.run import train

RUN = """
task: reach
obs: state
demos: 5
env_steps: {steps}
eval_every_steps: {every}
eval_episodes: 3
stop_at_success: null
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="docs/gui.png")
    ap.add_argument("--run-dir", default="runs/gui-screenshot", help="a fresh run folder")
    ap.add_argument("--env-steps", type=int, default=3000)
    ap.add_argument("--eval-every", type=int, default=300)
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    tmp = Path(tempfile.mkdtemp(prefix="gui_shot_"))
    (tmp / "run.yaml").write_text(RUN.format(steps=args.env_steps, every=args.eval_every))
    cfg = run_config(None, None, tmp / "run.yaml")
    run_dir = Path(args.run_dir)
    if run_dir.exists():
        raise SystemExit(f"{run_dir} exists: pass a fresh --run-dir")
    cockpit = TrainCockpit(f"train reach/state in {run_dir} (in-process)", EpisodeControl(), "env")
    device = open_cockpit(cockpit, GuiConfig(port=0, cameras=(CAMERA,), timeout_s=1.5))
    job = threading.Thread(target=train, args=(cfg, run_dir, True, cockpit), daemon=True)
    job.start()
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    try:
        driver.get(device.url)
        driver.find_element(By.CSS_SELECTOR, "#take-control").click()
        evals = args.env_steps // args.eval_every - 1  # all but the last: the job still runs
        while len(cockpit.curves().series.get("success_rate", [])) < evals and job.is_alive():
            time.sleep(1.0)
        driver.find_element(By.CSS_SELECTOR, "#btn-success").click()
        time.sleep(1.0)
        driver.find_element(By.CSS_SELECTOR, "#btn-pause").click()
        time.sleep(1.0)
        driver.save_screenshot(str(Path(args.out)))
        print(f"saved {args.out}")
        driver.find_element(By.CSS_SELECTOR, "#btn-resume").click()
        job.join()
    finally:
        driver.quit()
        device.close()


if __name__ == "__main__":
    main()
