"""The HTTP server of the GUI: one page, its state stream, camera JPEGs and a status.

Standard library only (``http.server``), one thread per connection, keep-alive. Routes:

- ``GET /``: the page (static/index.html, no external assets);
- ``POST /state``: one page state (JSON, `protocol.parse_state`); answers the status;
- ``GET /status``: the status alone (JSON);
- ``GET /camera/<name>.jpg``: that camera's latest frame (404 before the first).

Requests are refused (403) when a token is set and missing, when the Host header names
another server (DNS rebinding) or when a POST comes from another origin; a POST must be
``application/json`` so that a foreign page cannot send one without a CORS preflight,
which this server never grants.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from robot_rl.gui.config import GuiConfig
from robot_rl.gui.feeds import EpisodeStatus, FrameStore
from robot_rl.gui.link import BrowserLink
from robot_rl.gui.protocol import MAX_BODY_BYTES, ConflictError, RejectedError

log = logging.getLogger(__name__)
TOKEN_HEADER = "X-Robot-RL-Token"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_ANY_ADDRESS = ("0.0.0.0", "::", "")


def page_html(cfg: GuiConfig) -> bytes:
    """The page, with the settings it needs written in."""
    text = resources.files("robot_rl.gui").joinpath("static/index.html").read_text("utf-8")
    settings = {
        "send_period_ms": cfg.send_period_ms,
        "pulse_ms": cfg.pulse_ms,
        "timeout_s": cfg.timeout_s,
        "cameras": list(cfg.cameras),
        "camera_namespace": cfg.camera_namespace,
    }
    return text.replace("__GUI_SETTINGS__", json.dumps(settings)).encode("utf-8")


class GuiServer(ThreadingHTTPServer):
    """Serves the page for ``link``, ``frames`` and ``episode``; `start` runs it on a
    daemon thread, `stop` shuts it down (blocks up to one poll interval)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        cfg: GuiConfig,
        link: BrowserLink,
        frames: FrameStore,
        episode: EpisodeStatus,
        token: str = "",
    ) -> None:
        self.cfg, self.link, self.frames, self.episode = cfg, link, frames, episode
        self.token = token
        self.page = page_html(cfg)
        self._thread: threading.Thread | None = None
        super().__init__((cfg.host, cfg.port), _Handler)  # binds; raises OSError

    @property
    def port(self) -> int:
        """The bound port (the chosen one when ``cfg.port`` is 0)."""
        return int(self.server_address[1])

    def start(self) -> None:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="gui"
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket; safe to call twice."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5.0)
            self._thread = None
        self.server_close()

    def host_allowed(self, host_header: str) -> bool:
        """Whether a Host header names this server (refuses DNS-rebinding names)."""
        if self.cfg.host in _ANY_ADDRESS:
            return True  # every interface: the token is what protects it
        name = urlsplit(f"//{host_header}").hostname or ""
        allowed = {*_LOOPBACK_NAMES, self.cfg.host.strip("[]"), *self.cfg.allowed_hosts}
        return name in allowed

    def status(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON the page renders."""
        out = self.link.status()
        out["cameras"] = self.frames.summary()
        out["episode"] = self.episode.as_dict()
        if extra:
            out.update(extra)
        return out


class _Handler(BaseHTTPRequestHandler):
    server: GuiServer
    protocol_version = "HTTP/1.1"  # keep-alive: one connection carries the 30 Hz stream
    timeout = 10.0  # idle keep-alive connections are dropped after this (s)
    # Headers and body leave in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms), which capped the stream at ~21 Hz.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # ------------------------------------------------------------------ checks
    def _allowed(self, query: dict[str, list[str]]) -> bool:
        if not self.server.host_allowed(self.headers.get("Host", "")):
            self._send_json(HTTPStatus.FORBIDDEN, {"ok": False, "reason": "unknown Host"})
            return False
        token = self.server.token
        if token:
            given = self.headers.get(TOKEN_HEADER) or (query.get("token") or [""])[0]
            if not hmac.compare_digest(given.encode(), token.encode()):
                self._send_json(HTTPStatus.FORBIDDEN, {"ok": False, "reason": "bad token"})
                return False
        return True

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not self._allowed(parse_qs(url.query)):
            return
        if url.path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8")
        elif url.path == "/status":
            self._send_json(HTTPStatus.OK, self.server.status({"ok": True}))
        elif url.path.startswith("/camera/") and url.path.endswith(".jpg"):
            self._camera(unquote(url.path[len("/camera/") : -len(".jpg")]))
        elif url.path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"ok": False, "reason": "no such page"})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would corrupt the next request
            self._send_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"ok": False, "reason": "too long"}
            )
            return
        body = self.rfile.read(length)
        if not self._allowed(parse_qs(url.query)):
            return
        if url.path != "/state":
            self._send_json(HTTPStatus.NOT_FOUND, {"ok": False, "reason": "no such endpoint"})
            return
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{self.headers.get('Host', '')}":
            self._send_json(HTTPStatus.FORBIDDEN, {"ok": False, "reason": "foreign origin"})
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            reason = "Content-Type must be application/json"
            self._send_json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"ok": False, "reason": reason})
            return
        try:
            state = self.server.link.receive(body)
        except RejectedError as e:
            code = HTTPStatus.CONFLICT if isinstance(e, ConflictError) else HTTPStatus.BAD_REQUEST
            self._send_json(code, self.server.status({"ok": False, "reason": str(e)}))
            return
        self._send_json(HTTPStatus.OK, self.server.status({"ok": True, "seq": state.seq}))

    def _camera(self, name: str) -> None:
        got = self.server.frames.jpeg(name)
        if got is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"ok": False, "reason": f"no frame of {name!r}"})
            return
        data, stamp_ns, seq = got
        headers = {"X-Frame-Seq": str(seq), "X-Frame-Stamp-Ns": str(stamp_ns)}
        self._send(HTTPStatus.OK, data, "image/jpeg", headers)

    # ------------------------------------------------------------------ replies
    def _send_json(self, code: HTTPStatus, obj: dict[str, Any]) -> None:
        self._send(code, json.dumps(obj).encode("utf-8"), "application/json")

    def _send(
        self,
        code: HTTPStatus,
        body: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        # The page needs nothing from elsewhere; forbid it, and framing by other sites.
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)
