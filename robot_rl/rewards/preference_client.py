"""VLM preference queries (RL-VLM-F style) over an OpenAI-compatible chat-completions API.

One query shows two frames and asks which is closer to the goal. Every failure mode is an
answer, never an exception: timeouts, HTTP errors, malformed JSON, refusals and replies
without a parseable verdict each come back with their own ``status`` and no label, and the
caller decides whether to retry or skip the pair. Requests have a deadline; the API key is
read from an environment variable and never logged.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

Status = Literal["ok", "tie", "refused", "malformed", "timeout", "http_error", "unreachable"]
_VERDICT = re.compile(r"ANSWER\s*[:=]\s*\**\s*([012])\b", re.IGNORECASE)
_REFUSAL = re.compile(r"\b(I can(?:no|')t|I'm unable|I am unable|I won't|cannot assist)\b", re.I)
_RETRYABLE_HTTP = (408, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class PreferenceClientConfig:
    """Where the VLM is and how it is asked."""

    base_url: str = "http://127.0.0.1:8000/v1"  # OpenAI-compatible API root (…/v1)
    model: str = "gpt-4o"  # model name sent in the request
    api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the key ("" = none)
    timeout_s: float = 30.0  # per-request socket timeout, seconds
    max_attempts: int = 3  # attempts on timeouts, 408/429/5xx and unreachable servers
    backoff_s: float = 1.0  # wait before attempt k is backoff_s * 2**(k-1), seconds
    max_tokens: int = 300  # reply length cap (room for a short reasoning + verdict)
    temperature: float = 0.0  # sampling temperature


@dataclass(frozen=True)
class PreferenceAnswer:
    """The outcome of one comparison."""

    label: int | None  # 0: first frame closer, 1: second closer, -1: tie/unsure, None: no answer
    status: Status  # what happened
    detail: str  # reply text or error description (truncated)
    attempts: int  # requests made
    latency_ms: float  # wall time of all attempts, milliseconds


def build_prompt(goal: str) -> str:
    """The question: which of two images is closer to ``goal``; a fixed last-line verdict."""
    return (
        f"The task of the robot is: {goal}.\n"
        "You see two camera images of the same robot cell, image 1 and then image 2. "
        "Which image shows the task closer to being achieved? Reason in at most two "
        "sentences, then end with one final line, exactly one of:\n"
        "ANSWER: 1   (image 1 is closer to the goal)\n"
        "ANSWER: 2   (image 2 is closer to the goal)\n"
        "ANSWER: 0   (no difference, or you cannot tell)"
    )


def encode_png(image: np.ndarray) -> str:
    """uint8 (H, W, 3) RGB -> data URL with a base64 PNG."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def parse_reply(body: Any) -> tuple[int | None, Status, str]:
    """(label, status, text) from a decoded chat-completions response body."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        return None, "malformed", f"no choices[0].message in reply: {str(body)[:200]}"
    refusal = message.get("refusal") if isinstance(message, dict) else None
    if refusal or choice.get("finish_reason") == "content_filter":
        return None, "refused", str(refusal or "content_filter")[:200]
    text = message.get("content") if isinstance(message, dict) else None
    if isinstance(text, list):  # content given as parts
        text = " ".join(str(p.get("text", "")) for p in text if isinstance(p, dict))
    if not isinstance(text, str):
        return None, "malformed", f"message content is {type(text).__name__}"
    verdicts = _VERDICT.findall(text)
    if not verdicts:
        status: Status = "refused" if _REFUSAL.search(text) else "malformed"
        return None, status, text[:200]
    v = verdicts[-1]
    if v == "0":
        return -1, "tie", text[:200]
    return (0 if v == "1" else 1), "ok", text[:200]


class PreferenceClient:
    """Asks a VLM which of two frames is closer to a goal. Blocks up to about
    ``max_attempts * timeout_s`` plus backoff per comparison."""

    def __init__(self, cfg: PreferenceClientConfig) -> None:
        self.cfg = cfg
        self.url = cfg.base_url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.cfg.api_key_env, "") if self.cfg.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def request_body(self, goal: str, first: np.ndarray, second: np.ndarray) -> dict[str, Any]:
        """The JSON body of one comparison."""
        content: list[dict[str, Any]] = [
            {"type": "text", "text": build_prompt(goal)},
            {"type": "text", "text": "Image 1:"},
            {"type": "image_url", "image_url": {"url": encode_png(first)}},
            {"type": "text", "text": "Image 2:"},
            {"type": "image_url", "image_url": {"url": encode_png(second)}},
        ]
        return {
            "model": self.cfg.model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": self.cfg.max_tokens,
            "temperature": self.cfg.temperature,
        }

    def compare(self, goal: str, first: np.ndarray, second: np.ndarray) -> PreferenceAnswer:
        """Which of two uint8 (H, W, 3) RGB frames is closer to ``goal``."""
        data = json.dumps(self.request_body(goal, first, second)).encode()
        t0 = time.perf_counter()
        status: Status = "unreachable"
        detail = ""
        attempts = 0
        for attempt in range(1, max(1, self.cfg.max_attempts) + 1):
            attempts = attempt
            if attempt > 1:
                time.sleep(self.cfg.backoff_s * 2 ** (attempt - 2))
            retry, status, detail, label = self._attempt(data)
            if not retry:
                return PreferenceAnswer(
                    label, status, detail, attempts, (time.perf_counter() - t0) * 1e3
                )
        return PreferenceAnswer(None, status, detail, attempts, (time.perf_counter() - t0) * 1e3)

    def _attempt(self, data: bytes) -> tuple[bool, Status, str, int | None]:
        """(retry?, status, detail, label) of one request."""
        req = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            retry = e.code in _RETRYABLE_HTTP
            return retry, "http_error", f"HTTP {e.code}: {_short(e.read())}", None
        except TimeoutError:
            return True, "timeout", f"no reply within {self.cfg.timeout_s} s", None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                return True, "timeout", f"no reply within {self.cfg.timeout_s} s", None
            return True, "unreachable", f"{self.url}: {e.reason}", None
        except (ConnectionError, OSError, http.client.HTTPException) as e:
            return True, "unreachable", f"{self.url}: {type(e).__name__}: {e}", None
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False, "malformed", f"reply is not JSON: {_short(raw)}", None
        label, status, text = parse_reply(body)
        return False, status, text, label


def _short(raw: bytes) -> str:
    return raw[:200].decode("utf-8", "replace")
