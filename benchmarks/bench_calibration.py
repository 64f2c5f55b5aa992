"""Calibration accuracy against the twin's ground truth, per camera, method and seed.

For each seed: the packaged cell file is perturbed (1 cm per axis, 2 deg), a live capture is
run in the twin from that prior (noisy 640x480 renders, arm through the safety filter), and
intrinsics and hand-eye are solved. Prints the errors against the twin's true cameras, every
hand-eye method's error, and the time split. Baseline for the timing: rendering the same
number of frames alone, in the same run.

    MUJOCO_GL=egl OMP_NUM_THREADS=1 python benchmarks/bench_calibration.py --seeds 3 --views 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from robot_rl.calibration.cell_file import load_calibration, update_cell_file
from robot_rl.calibration.frames import pose_error
from robot_rl.calibration.handeye import solve_hand_eye
from robot_rl.calibration.intrinsics import detect_all, solve_intrinsics
from robot_rl.calibration.twin_capture import TwinRig, camera_x
from robot_rl.calibration.views import ViewPlanConfig
from robot_rl.control.rotations import mat_to_quat, quat_from_rotvec, quat_to_mat


def perturbed(tmp: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    edit = {}
    for name, cam in load_calibration().cameras.items():
        axis = rng.normal(size=3)
        turn = quat_to_mat(quat_from_rotvec(np.radians(2.0) * axis / np.linalg.norm(axis)))
        edit[name] = {
            "pos_m": (cam.pos_m + rng.choice([-0.01, 0.01], 3)).tolist(),
            "quat_wxyz": mat_to_quat(quat_to_mat(cam.quat_wxyz) @ turn).tolist(),
        }
    path = tmp / f"prior-{seed}.yaml"
    update_cell_file(None, path, {"cameras": edit})
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--views", type=int, default=20)
    ap.add_argument("--noise", type=float, default=2.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_calibration-"))
    print(
        "| camera | seed | best method | hand-eye error mm / deg | fx fy cx cy error % | "
        "intrinsics RMS px | capture s (sim s) | render-only s | solve s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    per_method: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for camera in ("front", "wrist"):
        for seed in range(args.seeds):
            prior = load_calibration(perturbed(tmp, seed))
            rig = TwinRig(camera, prior)
            t0 = time.perf_counter()
            cap = rig.capture(
                tmp / f"{camera}-{seed}",
                ViewPlanConfig(n_views=args.views),
                seed,
                noise_std=args.noise,
            )
            t_capture, sim_s = time.perf_counter() - t0, rig.cell.data.time
            t0 = time.perf_counter()
            for _ in range(len(cap)):
                rig.cell.render(camera)
            t_render = time.perf_counter() - t0
            truth = rig.truth_cam
            t0 = time.perf_counter()
            dets = detect_all(cap)
            intr = solve_intrinsics(cap, dets)
            he = solve_hand_eye(cap.mount, cap.poses or [], cap.board, dets, truth.intrinsics)
            t_solve = time.perf_counter() - t0
            rig.close()
            x_true = camera_x(truth)
            for m in he.methods:
                d, a = pose_error(m.x, x_true)
                per_method[f"{camera} {m.name}"].append((d * 1e3, a))
            d, a = pose_error(he.best.x, x_true)
            k, kt = intr.intrinsics, truth.intrinsics
            rel = " ".join(
                f"{100 * (getattr(k, n) - getattr(kt, n)) / getattr(kt, n):+.2f}"
                for n in ("fx", "fy", "cx", "cy")
            )
            print(
                f"| {camera} | {seed} | {he.best.name} | {d * 1e3:.2f} / {a:.3f} | {rel} | "
                f"{intr.rms_px:.3f} | {t_capture:.1f} ({sim_s:.0f}) | {t_render:.2f} | "
                f"{t_solve:.2f} |"
            )
    print("\n| camera method | mean error mm | max mm | mean deg | max deg |")
    print("|---|---|---|---|---|")
    for key, errs in per_method.items():
        e = np.array(errs)
        print(
            f"| {key} | {e[:, 0].mean():.2f} | {e[:, 0].max():.2f} | {e[:, 1].mean():.3f} | "
            f"{e[:, 1].max():.3f} |"
        )


if __name__ == "__main__":
    main()
