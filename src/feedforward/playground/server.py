"""The playground's Starlette app: the page, the options, model export and the WebSocket.

One WebSocket is one :class:`~.session.Session`. Training runs on the event loop in slices
of a few milliseconds (:data:`SLICE`), so that every connection's messages are answered
between two slices and ``pause`` takes effect at once. Frames go out at most
:data:`MAX_FPS` times a second, and at least :data:`MIN_FPS` times while training: a frame
ends when the setup's ``speed`` epochs have ended or its time is up, mid-epoch (the frame
tells the share of the epoch done). A slow reader slows its own session down (the send
waits). A pause sends one more frame, of the weights training stopped on. While training,
the doctor's statistics are measured for at most :data:`DOCTOR_FPS` frames a second; the
frames between repeat the last ones.

Every message is checked before it acts: bad JSON, NaN or Infinity, unknown types or fields,
wrong types and out-of-range values get an ``error`` message naming the field, and the
connection keeps serving. The WebSocket refuses a foreign ``Origin`` (close code 1008), and
the app answers only to the loopback host names unless it was started for another host.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import re
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from ..errors import FeedforwardError, describe
from . import codegen
from .guide import guide_page
from .session import Session
from .setup import MAX_MESSAGE_BYTES, FieldError, check_object, options

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SLICE = 0.008  # seconds of training between two looks at the connection's messages
MAX_FPS = 60
MIN_FPS = 10  # frames a second at least while training, however long an epoch or the speed
DOCTOR_FPS = 10  # while training, frames measure the doctor's records at most this often
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
MAX_SESSIONS = 32  # open pages at once: each holds its data and network (up to ~20 MB)
log = logging.getLogger("feedforward.playground")

# message type -> its fields (besides "type")
MESSAGES = {
    "setup": ("setup",), "play": (), "pause": (), "step": (), "reset": (), "regenerate": (),
    "set_weight": ("layer", "from", "to", "value"), "set_bias": ("layer", "unit", "value"),
    "upload": ("csv",), "add_point": ("x1", "x2", "label"), "inspect": (), "code": (),
}


# ---------------------------------------------------------------------------- parsing
def _refuse_constant(name):
    raise FieldError(None, f"message: expected finite numbers, got {name} (not valid JSON)")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise FieldError(None, f"message: expected finite numbers, got {text[:20]}")
    return value


def _integer(text):
    """A JSON integer. One longer than ``int()`` reads (Python's limit of 4,300 digits) is
    valid JSON too: it comes as a number of the same sign and number of digits, which every
    field's range then refuses, naming the field, as it refuses a 401-digit one."""
    try:
        return int(text)
    except ValueError:
        digits = len(text.lstrip("-"))
        size = 1 << round((digits - 1) * math.log2(10))  # a shift: 10 ** n takes long
        return -size if text.startswith("-") else size


def parse(text) -> dict:
    """A message's text as a checked ``{"type": ..., fields}`` dict; raises FieldError."""
    if not isinstance(text, str):
        raise FieldError(None, "message: expected a JSON text frame, got a binary frame")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise FieldError(None, f"message: expected at most {MAX_MESSAGE_BYTES} bytes, got {size}")
    try:
        message = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                             parse_int=_integer)
    except FieldError:
        raise
    except (ValueError, RecursionError) as e:
        raise FieldError(None, f"message: not valid JSON ({type(e).__name__}: "
                               f"{str(e)[:80]})") from None
    if not isinstance(message, dict):
        raise FieldError(None, f"message: expected a JSON object with a type, got "
                               f"{type(message).__name__}")
    kind = message.get("type")
    if kind not in MESSAGES:
        raise FieldError("type", f"expected one of {', '.join(MESSAGES)}, got {describe(kind)}")
    check_object(message, None, ("type", *MESSAGES[kind]))
    missing = [f for f in MESSAGES[kind] if f not in message]
    if missing:
        raise FieldError(missing[0], f"missing in a {kind!r} message")
    return message


def _clean(value):
    """JSON-safe: non-finite floats become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def dumps(message) -> str:
    try:
        return json.dumps(message, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_clean(message), allow_nan=False, separators=(",", ":"))


def error_message(error) -> dict:
    return {"type": "error", "message": str(error), "field": getattr(error, "field", None)}


HOST_HEADER = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[^\[\]:/@\s]+))"
                         r"(?::[0-9]{1,5})?")


def host_name(host) -> str | None:
    """The name in a ``Host`` header, lower case, an IPv6 literal without its brackets
    (``[::1]:8765`` -> ``::1``); None when it is not one."""
    match = HOST_HEADER.fullmatch(host or "")
    if match is None:
        return None
    return _address(match["ipv6"]) if match["ipv6"] else match["name"].lower()


def _address(text) -> str | None:
    """An IPv6 address in its one short form (``0:0::1`` and ``::1`` are the same host)."""
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return None


class HostCheck:
    """Answer 400 to any request whose ``Host`` names none of ``allowed_hosts`` (``"*"``:
    any; ``"*.example.com"``: any name under example.com, as in Starlette's
    TrustedHostMiddleware); other web sites then cannot reach the server through DNS
    rebinding."""

    def __init__(self, app, allowed_hosts):
        self.app = app
        self.any = "*" in allowed_hosts
        names = [h.strip("[]") for h in allowed_hosts]
        self.allowed = {_address(h) or h.lower() for h in names}
        self.suffixes = tuple(h.lower()[1:] for h in names if h.startswith("*."))

    def _allows(self, name) -> bool:
        return name in self.allowed or bool(name and self.suffixes
                                             and name.endswith(self.suffixes))

    async def __call__(self, scope, receive, send):
        if not self.any and scope["type"] in ("http", "websocket"):
            host = Headers(scope=scope).get("host")
            if not self._allows(host_name(host)):
                shown = describe(host) if host is not None else "none"
                refusal = JSONResponse(error_message(FeedforwardError(
                    f"Host: expected one of {', '.join(sorted(self.allowed))}, got {shown}")),
                    status_code=400)
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def origin_allowed(headers) -> bool:
    """No ``Origin`` (not a browser), or the server's own: ``http://`` + the ``Host`` header."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host")
    return host is not None and origin.lower() == f"http://{host}".lower()


# ---------------------------------------------------------------------------- a connection
class Connection:
    """One WebSocket and its session: the message handlers and the training task."""

    def __init__(self, websocket, session):
        self.ws, self.session = websocket, session
        self.task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def send(self, message) -> None:
        text = dumps(message)
        async with self._lock:  # the training task and the handlers both send
            await self.ws.send_text(text)

    async def run(self) -> None:
        s = self.session
        await self.send({"type": "hello", "session": s.id, "options": options(),
                         "setup": s.setup})
        await self.send(s.state())
        await self.send(s.data_message())
        await self.send(s.frame())
        while True:
            event = await self.ws.receive()
            if event["type"] == "websocket.disconnect":
                return
            try:
                message = parse(event.get("text"))
                await getattr(self, "on_" + message.pop("type"))(**message)
            except FeedforwardError as e:
                await self.send(error_message(e))
            except (WebSocketDisconnect, WebSocketDisconnected):
                return  # the page left while a handler answered
            except Exception as e:  # a bug: keep serving, log the details
                log.exception("playground: a message failed")
                await self.send(error_message(FeedforwardError(
                    f"internal error ({type(e).__name__}); the server's log has the details")))

    async def stop(self) -> None:
        """Stop the training task and wait for it to end."""
        self.session.running = False
        task, self.task = self.task, None
        if task is not None and task is not asyncio.current_task():
            await asyncio.gather(task, return_exceptions=True)

    # ------------------------------------------------------------------ handlers
    async def on_setup(self, setup):
        changed = self.session.apply(setup)
        await self.send(self.session.state())
        if changed["data"]:
            await self.send(self.session.data_message())
        await self.send(self.session.frame())

    async def on_play(self):
        if self.session.running:
            return
        self.session.resume()
        self.session.running = True
        self.task = asyncio.create_task(self._play())
        await self.send(self.session.state())

    async def on_pause(self):
        await self.stop()
        await self.send(self.session.state())
        await self.send(self.session.frame())  # the weights it stopped on

    async def on_step(self):
        was_running = self.session.running
        await self.stop()
        if was_running:  # as pause says it, so that a client knows training stopped
            await self.send(self.session.state())
        # after an early stop, a step trains on (else it would train an epoch and restore)
        self.session.driver.resume(stopped_only=True)
        done, stop = 0, None
        while not done and stop is None:  # in slices: other connections keep their turn
            done, stop = self.session.train(1, SLICE)
            await asyncio.sleep(0)
        if stop is not None:
            await self._stopped(stop)
        await self.send(self.session.frame())

    async def on_reset(self):
        await self.stop()
        self.session.reset()
        await self.send(self.session.state())
        await self.send(self.session.frame())

    async def on_regenerate(self):
        self.session.regenerate()
        await self._new_data()

    async def on_set_weight(self, layer, value, **ends):
        self.session.set_weight(layer, ends["from"], ends["to"], value)
        await self.send(self.session.frame())

    async def on_set_bias(self, layer, unit, value):
        self.session.set_bias(layer, unit, value)
        await self.send(self.session.frame())

    async def on_upload(self, csv):
        self.session.upload(csv)
        await self._new_data()

    async def on_add_point(self, x1, x2, label):
        self.session.add_point(x1, x2, label)
        await self._new_data()

    async def on_inspect(self):
        await self.send(self.session.inspect())

    async def on_code(self):
        await self.send({"type": "code", "python": codegen.generate(self.session)})

    async def _new_data(self):
        await self.send(self.session.state())
        await self.send(self.session.data_message())
        await self.send(self.session.frame())

    async def _stopped(self, stop):
        reason, text = stop
        await self.send({"type": "stopped", "reason": reason, "message": text})
        await self.send(self.session.state())

    # ------------------------------------------------------------------ training
    async def _play(self):
        s, last = self.session, time.perf_counter()
        examined = -math.inf  # when a frame last measured the doctor's records
        try:
            while s.running:
                # a fifth of the frame's time is left for building and sending it
                done, stop = await self._train_for_frame(last + 0.8 / MIN_FPS)
                if not s.running and stop is None:
                    return  # paused: the handler sends the last frame
                wait = last + 1 / MAX_FPS - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                last = time.perf_counter()
                if stop is not None:
                    s.running = False
                    await self._stopped(stop)
                # the doctor's statistics cost a frame a tenth of its time: measured
                # DOCTOR_FPS times a second, as at the heaviest settings, and at a stop
                doctor = stop is not None or last - examined >= 1 / DOCTOR_FPS
                examined = last if doctor else examined
                await self.send(s.frame(doctor=doctor))
        except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
            s.running = False  # the connection is gone
        except FeedforwardError as e:
            s.running = False
            await self._safe_send(error_message(e))
        except Exception as e:
            s.running = False
            log.exception("playground: training failed")
            await self._safe_send(error_message(FeedforwardError(
                f"training stopped: internal error ({type(e).__name__})")))

    async def _train_for_frame(self, due):
        """Train in slices until the setup's ``speed`` epochs end, training stops, or the time
        ``due`` (a ``perf_counter`` reading) comes: a long epoch is shown as it goes.

        Returns
        -------
        done : int
            Epochs ended.
        stop : tuple (reason, message) or None
        """
        s, done, stop = self.session, 0, None
        while s.running and done < s.setup["speed"] and stop is None:
            budget = min(SLICE, max(due - time.perf_counter(), 0.0))
            more, stop = s.train(s.setup["speed"] - done, budget)
            done += more
            await asyncio.sleep(0)
            if time.perf_counter() >= due:
                break
        return done, stop

    async def _safe_send(self, message):
        try:
            await self.send(message)
            await self.send(self.session.state())
        except Exception:  # the connection is gone
            pass


# ---------------------------------------------------------------------------- routes
async def websocket_endpoint(websocket: WebSocket):
    if not origin_allowed(websocket.headers):
        # accepted, then closed at once: the page sees the code (a refused handshake
        # would reach it only as an anonymous 1006)
        await websocket.accept()
        await websocket.close(code=POLICY_VIOLATION, reason="foreign origin")
        return
    await websocket.accept()
    sessions = websocket.app.state.sessions
    if len(sessions) >= MAX_SESSIONS:
        await websocket.send_text(dumps(error_message(FeedforwardError(
            f"the playground serves at most {MAX_SESSIONS} pages at once; close one of them "
            "(this page connects when one closes)"))))
        await websocket.close(code=TRY_AGAIN_LATER, reason="too many pages")
        return
    session = Session()
    sessions[session.id] = session
    connection = Connection(websocket, session)
    try:
        await connection.run()
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-send
    finally:
        await connection.stop()
        sessions.pop(session.id, None)


async def index(request):
    page = STATIC / "index.html"
    if not page.is_file():
        return PlainTextResponse("the playground page is not installed", status_code=404)
    return FileResponse(page)


async def api_options(request):
    return JSONResponse(options())


async def api_export(request):
    session = request.app.state.sessions.get(request.path_params["session"])
    if session is None:
        raise HTTPException(404, "no such session (it ends when its page closes)")
    try:
        model = session.export()
    except FeedforwardError as e:
        raise HTTPException(409, str(e)) from None
    return Response(model, media_type="application/octet-stream",
                    headers={"Content-Disposition":
                             'attachment; filename="playground.safetensors"'})


async def http_error(request, error):
    """An HTTP refusal as the WebSocket's ``error`` message: JSON, with the reason."""
    return JSONResponse({"type": "error", "message": error.detail, "field": None},
                        status_code=error.status_code, headers=error.headers)


def create_app(allowed_hosts=LOOPBACK_HOSTS) -> Starlette:
    """The playground app.

    Parameters
    ----------
    allowed_hosts : sequence of str
        Host names the app answers to (the ``Host`` header, without the port; an IPv6
        address with or without its brackets); ``["*"]`` for any. The loopback names by
        default, which keeps other web sites from reaching the server through DNS rebinding.

    Returns
    -------
    Starlette
        The ASGI app: the page, ``/api/options``, ``/api/export/{session}``, the guide's
        pages (``/guide/{page}``), the ``/ws`` WebSocket and ``/static`` files; its sessions
        live in ``app.state.sessions``.
    """
    routes = [Route("/", index), Route("/api/options", api_options),
              Route("/api/export/{session}", api_export),
              Route("/guide/{page}", guide_page),  # the newcomer panel's links
              WebSocketRoute("/ws", websocket_endpoint),
              Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")]
    app = Starlette(routes=routes, lifespan=one_blas_thread,
                    exception_handlers={HTTPException: http_error},
                    middleware=[Middleware(HostCheck, allowed_hosts=list(allowed_hosts))])
    app.state.sessions = {}
    return app


@contextlib.asynccontextmanager
async def one_blas_thread(app):
    """While the app runs, BLAS uses one thread (when threadpoolctl is installed).

    The playground's matrices are small: extra BLAS threads only spin. At 8 hidden layers of
    32 units and a 100 x 100 grid the server made about 2.5 times as many frames per CPU
    second with one thread. The limit is process-wide, and lifted when the app stops.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with the web extra
        yield
        return
    limits = threadpool_limits(1, user_api="blas")
    try:
        yield
    finally:
        limits.restore_original_limits()


def serve(host="127.0.0.1", port=8765, log_level="warning") -> None:
    """Run the playground with uvicorn until interrupted.

    Per-message compression is off: on loopback, deflating the frames cost more CPU than
    anything else the server does.
    """
    import uvicorn

    uvicorn.run(create_app(allowed_hosts=allowed_hosts_for(host)), host=host, port=port,
                log_level=log_level, ws_per_message_deflate=False,
                ws_max_size=4 * MAX_MESSAGE_BYTES)


def allowed_hosts_for(host: str) -> list[str]:
    """The ``Host`` names to accept when serving on ``host``."""
    if host in LOOPBACK_HOSTS:
        return list(LOOPBACK_HOSTS)
    if host in ("0.0.0.0", "::", ""):
        return ["*"]  # every interface: any name the machine is reached by
    return [host, *LOOPBACK_HOSTS]
