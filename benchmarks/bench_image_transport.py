"""640x480 rgb8 images at 30 Hz between two processes over Cyclone DDS on loopback.

Compares, in one run, the dds backend's fast path (our CDR encoder, bytes handed to
Cyclone through the raw IdlStruct type) with the stock cyclonedds-python path (the same
IdlStruct serialized per element as ``sequence<uint8>``). Latency is taken from the
publish call in the sender to the subscriber callback in the receiver (decoded message in
hand), using the shared system clock.

    .venv/bin/python benchmarks/bench_image_transport.py [--frames 300] [--modes fast,stock]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_rl.bus.dds.bus import DdsBus
from robot_rl.bus.dds.config import DdsConfig
from robot_rl.bus.msgs import Header, Image, String, Time
from robot_rl.bus.qos import LATCHED, SENSOR_DATA, QoS

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK_XML = ROOT / "tests" / "graph" / "cyclonedds_loopback.xml"
HEIGHT, WIDTH = 480, 640
WAIT_S = 60.0


@dataclass
class BenchConfig:
    """One benchmark run."""

    frames: int = 300  # frames measured per mode (after warm-up)
    warmup: int = 15  # frames sent first and not measured
    rate_hz: float = 30.0  # send rate
    modes: str = "fast,stock"  # comma-separated: fast, stock
    reliable: bool = False  # RELIABLE keep-last-5 instead of SENSOR_DATA (best effort)
    domain_id: int = 150 + os.getpid() % 50  # a domain of its own
    cyclone_config: str = str(LOOPBACK_XML)


def _qos(cfg: BenchConfig) -> QoS:
    return QoS(depth=5) if cfg.reliable else SENSOR_DATA


def _bus(cfg: BenchConfig, fast: bool) -> DdsBus:
    return DdsBus(
        DdsConfig(domain_id=cfg.domain_id, cyclone_config=cfg.cyclone_config, fast_path=fast)
    )


def receive(cfg: BenchConfig, fast: bool) -> None:
    """Receiver process: record (seq, latency_ns) per frame, print them as JSON."""
    bus = _bus(cfg, fast)
    seqs: list[int] = []
    latencies: list[int] = []
    done: list[String] = []

    def on_image(msg: Image) -> None:
        latencies.append(time.time_ns() - msg.header.stamp.to_ns())
        seqs.append(int(msg.header.frame_id))

    bus.subscribe("/bench/image", Image, on_image, _qos(cfg))
    bus.subscribe("/bench/done", String, done.append, LATCHED)
    bus.spin(timeout_s=WAIT_S + cfg.frames / cfg.rate_hz * 20, until=lambda: bool(done))
    print(json.dumps({"seqs": seqs, "latencies_ns": latencies}), flush=True)


def send(cfg: BenchConfig, fast: bool) -> dict[str, float]:
    """Start a receiver, send frames at the configured rate, return the figures."""
    cmd = [sys.executable, __file__, "--role", "receiver", "--mode", "fast" if fast else "stock"]
    cmd += ["--domain-id", str(cfg.domain_id), "--cyclone-config", cfg.cyclone_config]
    cmd += ["--frames", str(cfg.frames)] + (["--reliable"] if cfg.reliable else [])
    peer = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    bus = _bus(cfg, fast)
    pub = bus.publisher("/bench/image", Image, _qos(cfg))
    deadline = time.monotonic() + WAIT_S
    while pub.subscriber_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # let the receiver's side of discovery settle too

    pixels = np.random.default_rng(0).integers(0, 256, HEIGHT * WIDTH * 3, dtype=np.uint8)
    period = 1.0 / cfg.rate_hz
    publish_s: list[float] = []
    total = cfg.warmup + cfg.frames
    start = time.monotonic()
    measured_from = start
    for i in range(total):
        next_t = start + i * period
        time.sleep(max(0.0, next_t - time.monotonic()))
        if i == cfg.warmup:
            measured_from = time.monotonic()
        t0 = time.perf_counter()
        stamp = Time.from_ns(time.time_ns())
        pub.publish(Image(Header(stamp, str(i)), HEIGHT, WIDTH, "rgb8", 0, WIDTH * 3, pixels))
        if i >= cfg.warmup:
            publish_s.append(time.perf_counter() - t0)
    measured_s = time.monotonic() - measured_from
    time.sleep(0.5)  # in-flight frames
    bus.publisher("/bench/done", String, LATCHED).publish(String("done"))
    out, _ = peer.communicate(timeout=WAIT_S + total * 2)
    bus.close()
    result = json.loads(out.strip().splitlines()[-1])
    keep = [i for i, s in enumerate(result["seqs"]) if s >= cfg.warmup]
    lat_ms = np.array(result["latencies_ns"], dtype=np.float64)[keep] * 1e-6
    return {
        "sent": cfg.frames,
        "received": len(keep),
        "send_rate_hz": cfg.frames / measured_s,
        "recv_rate_hz": len(keep) / measured_s,
        "publish_p50_ms": float(np.median(publish_s) * 1e3),
        "lat_p50_ms": float(np.percentile(lat_ms, 50)) if keep else float("nan"),
        "lat_p99_ms": float(np.percentile(lat_ms, 99)) if keep else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = BenchConfig()
    parser.add_argument("--role", choices=["sender", "receiver"], default="sender")
    parser.add_argument("--mode", choices=["fast", "stock"], default="fast")
    parser.add_argument("--frames", type=int, default=defaults.frames)
    parser.add_argument("--rate-hz", type=float, default=defaults.rate_hz)
    parser.add_argument("--modes", default=defaults.modes)
    parser.add_argument("--reliable", action="store_true")
    parser.add_argument("--domain-id", type=int, default=defaults.domain_id)
    parser.add_argument("--cyclone-config", default=defaults.cyclone_config)
    args = parser.parse_args()
    cfg = BenchConfig(
        frames=args.frames,
        rate_hz=args.rate_hz,
        modes=args.modes,
        reliable=args.reliable,
        domain_id=args.domain_id,
        cyclone_config=args.cyclone_config,
    )
    if args.role == "receiver":
        receive(cfg, args.mode == "fast")
        return

    mb = HEIGHT * WIDTH * 3 / 1e6
    qos = "RELIABLE keep-last-5" if cfg.reliable else "SENSOR_DATA (best effort, keep-last-5)"
    print(f"{WIDTH}x{HEIGHT} rgb8, {mb:.2f} MB/frame, {cfg.frames} frames at {cfg.rate_hz:g} Hz")
    print(f"QoS {qos}, two processes over loopback")
    results = {}
    for mode in cfg.modes.split(","):
        r = results[mode] = send(cfg, mode == "fast")
        print(
            f"{mode:>5}: received {r['received']}/{r['sent']}  send {r['send_rate_hz']:.1f} Hz  "
            f"recv {r['recv_rate_hz']:.1f} Hz ({r['recv_rate_hz'] * mb:.1f} MB/s)  "
            f"publish p50 {r['publish_p50_ms']:.2f} ms  "
            f"latency p50 {r['lat_p50_ms']:.2f} ms  p99 {r['lat_p99_ms']:.2f} ms"
        )
    if "fast" in results and "stock" in results:
        f, s = results["fast"], results["stock"]
        print(
            f"stock/fast: latency p50 x{s['lat_p50_ms'] / f['lat_p50_ms']:.1f}, "
            f"p99 x{s['lat_p99_ms'] / f['lat_p99_ms']:.1f}, "
            f"publish call x{s['publish_p50_ms'] / f['publish_p50_ms']:.1f}"
        )


if __name__ == "__main__":
    main()
