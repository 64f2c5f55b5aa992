"""VLM preference labelling against a local (loopback-only) OpenAI-compatible test server,
and the Bradley-Terry reward model its answers train."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from robot_rl.data.episodes import EpisodeStore
from robot_rl.rewards.backbones import reward_encoder_config
from robot_rl.rewards.classifier import ClassifierConfig, SuccessClassifier
from robot_rl.rewards.errors import ModelDirError
from robot_rl.rewards.preference import label_preferences, load_preferences, sample_pairs
from robot_rl.rewards.preference_client import (
    PreferenceClient,
    PreferenceClientConfig,
    parse_reply,
)
from robot_rl.rewards.preference_reward import (
    PreferenceReward,
    PreferenceTrainConfig,
    pairs_from_records,
    save_preference_model,
    train_preference_model,
)
from robot_rl.rewards.synthetic import toy_frame, write_toy_store

torch.set_num_threads(1)
Behaviour = Callable[[dict[str, Any]], tuple[int, bytes, float]]  # body -> status, reply, delay


def chat(content: str | None, refusal: str | None = None, finish: str = "stop") -> bytes:
    msg = {"role": "assistant", "content": content, "refusal": refusal}
    return json.dumps({"choices": [{"index": 0, "message": msg, "finish_reason": finish}]}).encode()


def decode_images(body: dict[str, Any]) -> list[np.ndarray]:
    parts = body["messages"][0]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    raw = [base64.b64decode(u.split(",", 1)[1]) for u in urls]
    return [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in raw]


class Server:
    """A loopback HTTP server whose replies are scripted per request."""

    def __init__(self) -> None:
        self.behaviours: list[Behaviour] = []
        self.default: Behaviour = lambda body: (200, chat("ANSWER: 1"), 0.0)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.headers.append(dict(self.headers))
                behave = outer.behaviours.pop(0) if outer.behaviours else outer.default
                status, reply, delay = behave(body)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def client(url: str, **kw: Any) -> PreferenceClient:
    cfg = dict(
        base_url=url,
        model="test-vlm",
        api_key_env="RR_TEST_KEY",
        timeout_s=2.0,
        max_attempts=2,
        backoff_s=0.01,
    )
    cfg.update(kw)
    return PreferenceClient(PreferenceClientConfig(**cfg))


IMG_A = np.full((16, 16, 3), 30, np.uint8)
IMG_B = np.full((16, 16, 3), 200, np.uint8)


def test_verdicts_map_to_labels(server: Server) -> None:
    c = client(server.url)
    for reply, label, status in (
        ("The cube is higher in image 2.\nANSWER: 2", 1, "ok"),
        ("answer: 1", 0, "ok"),
        ("Both look the same.\nANSWER: 0", -1, "tie"),
        ("ANSWER: 2 ... on reflection ANSWER: 1", 0, "ok"),  # the last verdict counts
    ):
        server.behaviours.append(lambda body, r=reply: (200, chat(r), 0.0))
        ans = c.compare("lift the cube", IMG_A, IMG_B)
        assert (ans.label, ans.status, ans.attempts) == (label, status, 1)
    body = server.requests[0]
    assert (
        body["model"] == "test-vlm" and "lift the cube" in body["messages"][0]["content"][0]["text"]
    )
    first, second = decode_images(body)
    assert first.mean() < 50 < 150 < second.mean()  # frame order is preserved


def test_api_key_comes_from_the_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RR_TEST_KEY", "k-123")
    client(server.url).compare("g", IMG_A, IMG_B)
    assert server.headers[-1]["Authorization"] == "Bearer k-123"
    monkeypatch.delenv("RR_TEST_KEY")
    client(server.url).compare("g", IMG_A, IMG_B)
    assert "Authorization" not in server.headers[-1]


def test_malformed_answers(server: Server) -> None:
    c = client(server.url)
    cases: list[tuple[bytes, str]] = [
        (b"not json at all", "malformed"),
        (json.dumps({"choices": []}).encode(), "malformed"),
        (json.dumps({"error": "x"}).encode(), "malformed"),
        (chat(None), "malformed"),
        (chat("Image two, I think."), "malformed"),  # no verdict line
        (chat("ANSWER: 7"), "malformed"),
    ]
    for reply, status in cases:
        server.behaviours.append(lambda body, r=reply: (200, r, 0.0))
        ans = c.compare("g", IMG_A, IMG_B)
        assert (ans.label, ans.status) == (None, status), reply
        assert ans.attempts == 1  # a malformed reply is not retried blindly


def test_refusals(server: Server) -> None:
    c = client(server.url)
    for reply in (
        chat(None, refusal="I can't help with that."),
        chat("", finish="content_filter"),
        chat("I'm unable to compare these images."),
    ):
        server.behaviours.append(lambda body, r=reply: (200, r, 0.0))
        ans = c.compare("g", IMG_A, IMG_B)
        assert (ans.label, ans.status) == (None, "refused")


def test_timeout_is_retried_then_reported(server: Server) -> None:
    c = client(server.url, timeout_s=0.2, max_attempts=2)
    server.behaviours += [lambda body: (200, chat("ANSWER: 1"), 0.6)] * 2
    t0 = time.perf_counter()
    ans = c.compare("g", IMG_A, IMG_B)
    assert (ans.label, ans.status, ans.attempts) == (None, "timeout", 2)
    assert time.perf_counter() - t0 < 2.0  # bounded by attempts x timeout + backoff


def test_server_errors_are_retried(server: Server) -> None:
    c = client(server.url, max_attempts=3)
    server.behaviours += [
        lambda body: (503, b'{"error": "busy"}', 0.0),
        lambda body: (429, b'{"error": "slow down"}', 0.0),
        lambda body: (200, chat("ANSWER: 2"), 0.0),
    ]
    ans = c.compare("g", IMG_A, IMG_B)
    assert (ans.label, ans.status, ans.attempts) == (1, "ok", 3)
    server.behaviours.append(lambda body: (400, b'{"error": "bad request"}', 0.0))
    ans = c.compare("g", IMG_A, IMG_B)
    assert (ans.status, ans.attempts) == ("http_error", 1) and "HTTP 400" in ans.detail


def test_unreachable_server() -> None:
    s = Server()
    url = s.url
    s.close()
    ans = client(url, max_attempts=2).compare("g", IMG_A, IMG_B)
    assert (ans.label, ans.status, ans.attempts) == (None, "unreachable", 2)


def test_parse_reply_with_content_parts() -> None:
    body = {"choices": [{"message": {"content": [{"type": "text", "text": "ANSWER: 2"}]}}]}
    assert parse_reply(body)[:2] == (1, "ok")


def brightness_judge(body: dict[str, Any]) -> tuple[int, bytes, float]:
    """A fake VLM: the frame whose coloured square sits higher is closer to the goal."""
    first, second = decode_images(body)

    def height(img: np.ndarray) -> float:
        sat = img.max(axis=-1).astype(int) - img.min(axis=-1)
        rows = np.flatnonzero((sat > 100).any(axis=1))
        return -float(rows.mean()) if rows.size else -1e9

    hf, hs = height(first), height(second)
    if abs(hf - hs) < 1.0:
        return 200, chat("They look alike.\nANSWER: 0"), 0.0
    return 200, chat(f"ANSWER: {1 if hf > hs else 2}"), 0.0


def test_labels_train_a_reward_model(server: Server, tmp_path: Path) -> None:
    store = tmp_path / "toy"
    write_toy_store(store, episodes=10, steps=8, size_px=32, cameras=("front",))
    assert len(sample_pairs(EpisodeStore(store), 5)) == 5
    server.default = brightness_judge
    # A few scripted failures among the answers: they are recorded and skipped.
    server.behaviours += [
        lambda body: (200, b"garbage", 0.0),
        lambda body: (200, chat(None, "no"), 0.0),
    ]
    labels = tmp_path / "prefs.jsonl"
    counts = label_preferences(store, client(server.url), "raise the square", "front", 160, labels)
    assert counts["malformed"] == 1 and counts["refused"] == 1
    assert sum(counts.values()) == 160
    records = load_preferences(labels)
    assert len(records) == 160
    enc = reward_encoder_config(frozen=True, stage_widths=(8, 16), stem_width=8, bottleneck_dim=16)
    cfg = ClassifierConfig(cameras=("front",), image_shape=(32, 32, 3), encoder=enc, hidden_dim=32)
    pairs = pairs_from_records(store, records, ("front",))
    assert len(pairs) == 158
    tcfg = PreferenceTrainConfig(steps=300, learning_rate=3e-3)
    result = train_preference_model(SuccessClassifier(cfg), pairs, tcfg)
    assert result.val_agreement > 0.8
    save_preference_model(tmp_path / "pref", result, tcfg)
    src = PreferenceReward.load(tmp_path / "pref")
    rng = np.random.default_rng(5)
    low = [src({"front": toy_frame(0.1, 32, rng, (220, 40, 40))}).reward for _ in range(8)]
    high = [src({"front": toy_frame(0.9, 32, rng, (220, 40, 40))}).reward for _ in range(8)]
    assert np.mean(high) > np.mean(low)
    out = src({"front": toy_frame(0.5, 32, rng, (220, 40, 40))})
    assert np.isnan(out.success_prob) and not out.success and out.source == "preference"
    with pytest.raises(ModelDirError):
        PreferenceReward.load(tmp_path / "missing")


def test_torn_label_file_keeps_complete_lines(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    line = {"episode_a": 0, "t_a": 1, "episode_b": 1, "t_b": 2, "label": 0, "status": "ok"}
    f.write_text(json.dumps(line) + "\n" + json.dumps(line)[:20])
    assert len(load_preferences(f)) == 1
