"""Middleware and error handling: body limits, admission control, and every error as a
4xx JSON body (a user mistake never gives a 500)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor.errors import CorridorError
from corridor.outputs import jsonable
from corridor.service.engine import BusyError, TooManyRequestsError

#: Largest request body, bytes.
MAX_BODY_BYTES = 256 * 1024
#: Threads per kind of work. Routing is CPU-bound under the GIL: one thread answering route
#: queries in arrival order gives the same throughput as many and a far shorter latency tail
#: (bench/bench_load.py), and a long scenario solve (``heavy``) never holds up routing.
THREADS = {"route": 1, "heavy": 2}
#: Requests that may wait for a thread of each kind; more are answered 503 with Retry-After.
MAX_WAITING = {"route": 64, "heavy": 8}
#: Expensive requests (flows, compare, dependency, critical, posted scenarios) one client may
#: have running or waiting at once; more are answered 429 with Retry-After.
MAX_HEAVY_PER_CLIENT = 4
RETRY_AFTER_S = 5
STATUS_OF_KIND = {"unknown_place": 404, "not_found": 404, "no_route": 404,
                  "invalid_option": 422, "data_error": 422, "too_large": 413,
                  "unavailable": 501, "busy": 503, "time_limit": 503, "conflict": 409,
                  "too_many_requests": 429}
_RETRY_KINDS = ("busy", "time_limit", "too_many_requests")
log = logging.getLogger(__name__)


class BodyLimit:
    """ASGI middleware: reject request bodies larger than ``limit`` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(self.limit)(scope, receive, send)
            return
        seen = 0
        started = rejected = False

        async def counted() -> Message:
            nonlocal seen, rejected
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit and not rejected:
                if not started:  # answer now; whatever the app sends afterwards is dropped
                    rejected = True
                    await _too_large(self.limit)(scope, receive, send)
                raise _BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _BodyTooLarge:
            if not started and not rejected:
                await _too_large(self.limit)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"error": "too_large", "message":
                         f"request body larger than {limit // 1024} KB"}, status_code=413)


def _error(status: int, body: dict) -> JSONResponse:
    return JSONResponse(jsonable(body), status_code=status)


def handle_corridor_error(request: Request, exc: CorridorError) -> JSONResponse:
    body = exc.to_dict()
    if exc.kind == "data_error" and body.get("file"):
        body["file"] = Path(str(body["file"])).name  # never leak server paths
        body["message"] = str(exc).replace(str(exc.file), body["file"])
    response = _error(STATUS_OF_KIND.get(exc.kind, 400), body)
    if exc.kind in _RETRY_KINDS:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def handle_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
               for e in exc.errors()]
    text = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return _error(422, {"error": "invalid_request", "message": text, "details": details})


def handle_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    kind = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        exc.status_code, "http_error")
    return _error(exc.status_code, {"error": kind, "message": str(exc.detail)})


def handle_internal_error(request: Request, exc: Exception) -> JSONResponse:
    """A fault of the service itself: logged in full here, never echoed to the client."""
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, {"error": "internal", "message": "internal error; the server log has "
                                                        "the details"})


async def in_thread(request: Request, kind: str, function: Callable, *args: Any,
                     **kwargs: Any) -> Any:
    """Run blocking engine work in a worker thread, limited per kind of work.

    Admission control: when :data:`MAX_WAITING` requests already wait for a thread of this kind
    the request is refused with 503, and a client with :data:`MAX_HEAVY_PER_CLIENT` expensive
    requests in flight gets 429; both carry ``Retry-After``.
    """
    state = request.app.state
    limiter = getattr(state, "limiters", {}).get(kind)
    if limiter is not None and limiter.statistics().tasks_waiting >= MAX_WAITING[kind]:
        raise BusyError(f"the service is busy ({MAX_WAITING[kind]} {kind} requests waiting); "
                        f"try again in {RETRY_AFTER_S} s")
    in_flight = getattr(state, "heavy_in_flight", None)
    client = request.client.host if request.client else ""
    if kind == "heavy" and in_flight is not None:
        if in_flight[client] >= MAX_HEAVY_PER_CLIENT:
            raise TooManyRequestsError(f"at most {MAX_HEAVY_PER_CLIENT} expensive requests per "
                                       f"client at once; try again in {RETRY_AFTER_S} s")
        in_flight[client] += 1
    try:
        return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs),
                                              limiter=limiter)
    finally:
        if kind == "heavy" and in_flight is not None:
            in_flight[client] -= 1
            if in_flight[client] <= 0:
                del in_flight[client]
