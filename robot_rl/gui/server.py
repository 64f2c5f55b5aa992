"""The cockpit's web server (aiohttp): the page, one WebSocket per page, a few GET routes.

Routes (docs/gui.md):

- ``GET /``: the page (static/index.html, no external assets);
- ``GET /ws``: the WebSocket. The page streams its controls (``state``), asks for control
  (``take``/``release``) and sends ``command`` s; the server pushes ``status`` every
  ``push_period_ms``, ``curves`` when they change, ``ack`` per state, and camera frames
  (binary) as they arrive, dropping frames a slow page has not taken yet;
- ``GET /status``: the status as JSON; ``GET /camera/<name>.jpg``: the latest frame;
- ``POST /command``: ``{"kind": "estop"}`` (JSON) stops the arm from a script; every
  other command needs the controlling page.

The `_guard` middleware runs before any handler, so before any body is read: it refuses
(403) a Host header that names another server (DNS rebinding), a missing or wrong token
when one is set, and a POST or WebSocket whose Origin is another site. aiohttp's parser
answers a malformed or negative Content-Length with 400 before any handler runs. The
server runs its own asyncio loop on a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import socket
import struct
import threading
import time
from dataclasses import asdict
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from aiohttp.http_exceptions import BadHttpMessage

from robot_rl.gui.config import GuiConfig
from robot_rl.gui.link import BrowserLink
from robot_rl.gui.protocol import MAX_BODY_BYTES, RejectedError
from robot_rl.gui.sources import (
    COMMAND_KINDS,
    ESTOP_COMMANDS,
    CockpitSources,
    Curves,
    OperatorCommand,
)

log = logging.getLogger(__name__)
TOKEN_HEADER = "X-Robot-RL-Token"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_ANY_ADDRESS = ("0.0.0.0", "::", "")
_ID = re.compile(r"[0-9A-Za-z_-]{8,64}")
FRAME_POLL_S = 0.005  # how often new camera frames are looked for
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # The page needs nothing from elsewhere; forbid it, and framing by other sites.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'",
}


class _OneLineBadRequests(logging.Filter):
    """aiohttp logs a request its parser refused (answered 400) with a traceback; one
    line at debug level is enough for a malformed request from a client."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BadHttpMessage):
            log.debug("refused a malformed request: %s", str(exc).splitlines()[0])
            return False
        return True


logging.getLogger("aiohttp.server").addFilter(_OneLineBadRequests())


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


def _json(code: int, obj: dict[str, Any]) -> web.Response:
    return web.json_response(obj, status=code, headers=_SECURITY_HEADERS)


def frame_message(camera: str, seq: int, stamp_ns: int, age_ms: float, jpeg: bytes) -> bytes:
    """A binary frame message: 4-byte big-endian header length, JSON header, JPEG."""
    head = json.dumps({"camera": camera, "seq": seq, "stamp_ns": stamp_ns, "age_ms": age_ms})
    raw = head.encode()
    return struct.pack(">I", len(raw)) + raw + jpeg


class _Peer:
    """One page's WebSocket: its ids and the newest frame of each camera not yet sent."""

    def __init__(self, ws: web.WebSocketResponse, client: str, session: str) -> None:
        self.ws, self.client, self.session = ws, client, session
        self.frames: dict[str, bytes] = {}
        self.wake = asyncio.Event()


class GuiServer:
    """Serves the page for ``link`` (the controls) and ``sources`` (what it shows, where
    its commands go). Binds in the constructor (raises OSError); `start` runs it on a
    daemon thread; `stop` shuts it down (blocks up to 5 s)."""

    def __init__(
        self, cfg: GuiConfig, link: BrowserLink, sources: CockpitSources, token: str = ""
    ) -> None:
        self.cfg, self.link, self.sources, self.token = cfg, link, sources, token
        self.page = page_html(cfg)
        self.peers: set[_Peer] = set()
        self.commands_sent = 0
        self._sock = socket.create_server(
            (cfg.host, cfg.port), family=socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        """The bound port (the chosen one when ``cfg.port`` is 0)."""
        return int(self._sock.getsockname()[1])

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Serve on a daemon thread; returns once the server accepts connections."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True, name="gui")
        self._thread.start()
        ready.wait(timeout=10.0)

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY_BYTES)
        app.add_routes(
            [
                web.get("/", self._index),
                web.get("/index.html", self._index),
                web.get("/ws", self._ws),
                web.get("/status", self._status_route),
                web.get("/camera/{name}.jpg", self._camera),
                web.post("/command", self._command_route),
            ]
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, self._sock).start())
        tasks = [loop.create_task(self._push_status()), loop.create_task(self._push_frames())]
        ready.set()
        try:
            loop.run_forever()
        finally:
            for t in tasks:
                t.cancel()
            for peer in list(self.peers):
                loop.run_until_complete(peer.ws.close())
            loop.run_until_complete(runner.cleanup())
            loop.close()
            self._stopped.set()

    def stop(self) -> None:
        """Stop serving and close the listening socket; safe to call twice."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5.0)
            self._thread = self._loop = None
        self._sock.close()

    # ------------------------------------------------------------------ checks
    def host_allowed(self, host_header: str) -> bool:
        """Whether a Host header names this server (refuses DNS-rebinding names)."""
        if self.cfg.host in _ANY_ADDRESS:
            return True  # every interface: the token is what protects it
        name = urlsplit(f"//{host_header}").hostname or ""
        allowed = {*_LOOPBACK_NAMES, self.cfg.host.strip("[]"), *self.cfg.allowed_hosts}
        return name in allowed

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if not self.host_allowed(host):
            return _json(403, {"ok": False, "reason": "unknown Host"})
        if self.token:
            given = request.headers.get(TOKEN_HEADER) or request.query.get("token", "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _json(403, {"ok": False, "reason": "bad token"})
        origin = request.headers.get("Origin")
        writes = request.method != "GET" or request.path == "/ws"
        if writes and origin is not None and origin != f"http://{host}":
            return _json(403, {"ok": False, "reason": "foreign origin"})
        return await handler(request)

    # ------------------------------------------------------------------ routes
    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.page, content_type="text/html", charset="utf-8", headers=_SECURITY_HEADERS
        )

    async def _status_route(self, request: web.Request) -> web.Response:
        return _json(200, {"ok": True, **self.status()})

    async def _camera(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        got = self.sources.frames.jpeg(name)
        if got is None:
            return _json(404, {"ok": False, "reason": f"no frame of {name!r}"})
        data, stamp_ns, seq = got
        headers = {**_SECURITY_HEADERS, "X-Frame-Seq": str(seq), "X-Frame-Stamp-Ns": str(stamp_ns)}
        return web.Response(body=data, content_type="image/jpeg", headers=headers)

    async def _command_route(self, request: web.Request) -> web.Response:
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            # A form or no-cors fetch from another site cannot send JSON without a preflight.
            return _json(415, {"ok": False, "reason": "Content-Type must be application/json"})
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _json(413, {"ok": False, "reason": "too long"})
        try:
            obj = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return _json(400, {"ok": False, "reason": "not JSON"})
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if kind != "estop":
            return _json(409, {"ok": False, "reason": "only estop; the rest needs control"})
        why = self._send_command(OperatorCommand("estop", "http", time.time()))
        return _json(503, {"ok": False, "reason": why}) if why else _json(200, {"ok": True})

    def status(self, peer: _Peer | None = None) -> dict[str, Any]:
        """What every page renders (``you_control``: whether ``peer`` steers)."""
        ctrl = self.link.controller()
        return {
            "link": self.link.status(),
            "cell": asdict(self.sources.status.cell_status()),
            "cameras": self.sources.frames.summary(),
            "viewers": len(self.peers),
            "commands_sent": self.commands_sent,
            "you_control": peer is not None
            and ctrl is not None
            and (ctrl.client, ctrl.session) == (peer.client, peer.session),
        }

    def _send_command(self, cmd: OperatorCommand) -> str:
        """Hand ``cmd`` to the sink; returns why it could not ("" when it went)."""
        try:
            self.sources.commands.send(cmd)
        except (RuntimeError, ValueError) as e:
            return str(e)
        self.commands_sent += 1
        return ""

    # ------------------------------------------------------------------ WebSocket
    async def _ws(self, request: web.Request) -> web.StreamResponse:
        client, session = request.query.get("client", ""), request.query.get("session", "")
        if not (_ID.fullmatch(client) and _ID.fullmatch(session)):
            return _json(400, {"ok": False, "reason": "client and session ids required"})
        ws = web.WebSocketResponse(max_msg_size=MAX_BODY_BYTES, heartbeat=5.0)
        await ws.prepare(request)
        peer = _Peer(ws, client, session)
        ctrl = self.link.controller()
        if ctrl is not None and ctrl.client == client:
            with contextlib.suppress(RejectedError):  # (closed: the page just watches)
                self.link.take_control(client, session)  # the controlling tab was reloaded
        self.peers.add(peer)
        sender = asyncio.get_running_loop().create_task(self._send_frames(peer))
        try:
            await ws.send_str(json.dumps({"type": "curves", **asdict(self._curves())}))
            await ws.send_str(json.dumps({"type": "status", **self.status(peer)}))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    reply = self._on_text(peer, msg.data)
                    if reply is not None:
                        await ws.send_str(json.dumps(reply))
        finally:
            self.peers.discard(peer)
            sender.cancel()
        return ws

    def _on_text(self, peer: _Peer, text: str) -> dict[str, Any] | None:
        try:
            obj = json.loads(text)
            kind = obj.get("type") if isinstance(obj, dict) else None
        except ValueError:
            kind = None
        if kind == "state":
            try:
                state = self.link.receive(peer.client, text)
            except RejectedError as e:
                return {"type": "reject", "seq": obj.get("seq"), "reason": str(e)}
            return {"type": "ack", "seq": state.seq}
        if kind == "take":
            try:
                self.link.take_control(peer.client, peer.session)
            except RejectedError as e:
                return {"type": "reject", "seq": None, "reason": str(e)}
            return {"type": "status", **self.status(peer)}
        if kind == "release":
            self.link.release(peer.client)
            return {"type": "status", **self.status(peer)}
        if kind == "command":
            return self._on_command(peer, obj)
        return {"type": "error", "reason": "unknown message"}

    def _on_command(self, peer: _Peer, obj: dict[str, Any]) -> dict[str, Any]:
        what, cid = obj.get("kind"), obj.get("id")
        ctrl = self.link.controller()
        steers = ctrl is not None and (ctrl.client, ctrl.session) == (peer.client, peer.session)
        if what not in COMMAND_KINDS:
            ok, reason = False, f"unknown command {what!r}"
        elif what != ESTOP_COMMANDS[0] and not steers:
            ok, reason = False, "take control first (anyone may stop)"
        else:
            reason = self._send_command(OperatorCommand(str(what), peer.client, time.time()))
            ok = not reason
        return {"type": "result", "id": cid, "kind": what, "ok": ok, "reason": reason}

    def _curves(self) -> Curves:
        return self.sources.metrics.curves()

    async def _push_status(self) -> None:
        version = -1
        while True:
            await asyncio.sleep(self.cfg.push_period_ms * 1e-3)
            curves = self._curves()
            for peer in list(self.peers):
                try:
                    if curves.version != version:
                        await peer.ws.send_str(json.dumps({"type": "curves", **asdict(curves)}))
                    await peer.ws.send_str(json.dumps({"type": "status", **self.status(peer)}))
                except (ConnectionError, RuntimeError):
                    pass  # the page is going; its handler cleans up
            version = curves.version

    async def _push_frames(self) -> None:
        seen: dict[str, int] = {}
        loop = asyncio.get_running_loop()
        frames = self.sources.frames
        while True:
            await asyncio.sleep(FRAME_POLL_S)
            if not self.peers:
                continue
            for cam, info in frames.summary().items():
                if seen.get(cam) == info["seq"]:
                    continue
                got = await loop.run_in_executor(None, frames.jpeg, cam)
                if got is None:
                    continue
                jpeg, stamp_ns, seq = got
                seen[cam] = seq
                data = frame_message(cam, seq, stamp_ns, float(info["age_ms"]), jpeg)
                for peer in self.peers:
                    peer.frames[cam] = data  # replaces a frame the page has not taken yet
                    peer.wake.set()

    async def _send_frames(self, peer: _Peer) -> None:
        while True:
            await peer.wake.wait()
            peer.wake.clear()
            while peer.frames:
                cam = next(iter(peer.frames))
                data = peer.frames.pop(cam)
                try:
                    await peer.ws.send_bytes(data)
                except (ConnectionError, RuntimeError):
                    return
