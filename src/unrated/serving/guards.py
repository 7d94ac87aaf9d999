"""What stands between a request and the model: body-size limit, errors as JSON.

Every error answers with ``{"error": <kind>, "detail": <message>}``: the kind is an unrated
error class (``UnknownIdError`` 404, ``InvalidParameterError`` 422) or an HTTP status name.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unrated.errors import DataError, InvalidParameterError, ModelFileError, UnknownIdError

logger = logging.getLogger("uvicorn.error")

#: Seconds a request body may take to arrive, from the start of the request's handling.
BODY_TIMEOUT = 30.0


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    r"""A JSON response, encoded once (payloads are plain Python values, never numpy).

    A lone surrogate (from a client's ``"\ud800"``, echoed back as an unknown id) has no
    UTF-8 form: it is written as the JSON escape ``\ud800`` instead, which reads back as
    the same string.
    """
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(
        body.encode("utf-8", "backslashreplace"), status, headers, media_type="application/json"
    )


def error_response(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """The JSON error body every failure uses."""
    return json_response({"error": error, "detail": detail}, status, headers)


class BodyLimit:
    """Pure ASGI middleware: bounds each request body in size and in time.

    413 for bodies over ``max_bytes`` (declared or streamed), 408 for bodies that take over
    ``timeout`` seconds to arrive (a client sending slowly). Before a 413 the rest of a body
    of up to ``4 × max_bytes`` is read and dropped, so that the client, still sending, gets
    the answer rather than a reset connection, and the connection can serve its next
    request; larger bodies, and those announced with ``Expect: 100-continue``, get the 413
    at once and the connection is closed.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float = BODY_TIMEOUT) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout
        self.drain_bytes = 4 * max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            waits = headers.get(b"expect", b"").lower() == b"100-continue"
            drained = not waits and int(declared) <= self.drain_bytes
            drained = drained and await self._drain(receive, deadline, 0)
            await self._refuse(scope, receive, send, 413, close=not drained)
            return
        received, refusal, answered, complete = 0, 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, refusal, complete
            if complete:  # the body is in: later calls wait for a disconnect, unbounded
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refusal = 408
                raise _RefusedError from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    refusal = 413
                    raise _RefusedError
            return message

        async def refuse() -> None:
            drained = refusal == 413 and not complete
            drained = drained and await self._drain(receive, deadline, received)
            await self._refuse(scope, receive, send, refusal, close=not drained)

        async def replacing_send(message: Message) -> None:
            # The app may turn the error into its own answer (FastAPI: 400): send ours instead.
            nonlocal answered
            if not refusal:
                answered = answered or message["type"] == "http.response.start"
                await send(message)
            elif not answered:
                answered = True
                await refuse()

        try:
            await self.app(scope, counting_receive, replacing_send)
        except _RefusedError:
            if not answered:
                answered = True
                await refuse()

    async def _drain(self, receive: Receive, deadline: float, received: int) -> bool:
        """Read and drop the rest of the body; False if it is too large, slow or cut off."""
        try:
            async with asyncio.timeout_at(deadline):
                while received <= self.drain_bytes:
                    message = await receive()
                    if message["type"] != "http.request":
                        return False
                    received += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return received <= self.drain_bytes
        except TimeoutError:
            return False
        return False

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, *, close: bool = True
    ) -> None:
        if status == 413:
            error = "ContentTooLarge"
            detail = f"the request body is larger than the limit of {self.max_bytes:,} bytes"
        else:
            error = "RequestTimeout"
            detail = f"the request body took over {self.timeout:g} s to arrive"
        headers = {"Connection": "close"} if close else None
        await error_response(status, error, detail, headers)(scope, receive, send)


class _RefusedError(Exception):
    """The body broke a limit; BodyLimit answers instead of the app."""


def add_error_handlers(app: FastAPI) -> None:
    """Map unrated errors, validation errors and HTTP errors to JSON bodies."""

    async def unknown_id(request: Request, error: Exception) -> Response:
        return error_response(404, type(error).__name__, str(error))

    async def invalid(request: Request, error: Exception) -> Response:
        return error_response(422, type(error).__name__, str(error))

    async def model_file(request: Request, error: Exception) -> Response:
        detail = f"{error}; still serving the previous model"
        return error_response(409, type(error).__name__, detail)

    async def validation(request: Request, error: Exception) -> Response:
        if not isinstance(error, RequestValidationError):
            raise error
        return error_response(422, "InvalidParameterError", describe_validation(error))

    async def http(request: Request, error: Exception) -> Response:
        if not isinstance(error, StarletteHTTPException):
            raise error
        unparsable = describe_unparsable(error)
        if unparsable is not None:
            return error_response(422, "InvalidParameterError", unparsable)
        phrase = HTTPStatus(error.status_code).phrase.replace(" ", "").replace("-", "")
        headers = dict(error.headers) if error.headers else None
        return error_response(error.status_code, phrase, str(error.detail), headers)

    async def unexpected(request: Request, error: Exception) -> Response:
        logger.exception("unexpected error in %s %s", request.method, request.url.path)
        return error_response(500, "InternalServerError", f"unexpected {type(error).__name__}")

    app.add_exception_handler(UnknownIdError, unknown_id)
    app.add_exception_handler(InvalidParameterError, invalid)
    app.add_exception_handler(DataError, invalid)
    app.add_exception_handler(ModelFileError, model_file)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, unexpected)


def describe_validation(error: RequestValidationError) -> str:
    """One line per problem: where (``query.k``, ``body.users.0``) and what."""
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def describe_unparsable(error: StarletteHTTPException) -> str | None:
    """What made a body unparsable, for FastAPI's 400 "error parsing the body"; else None.

    FastAPI answers 422 for JSON syntax errors but 400 when the parser itself gives up
    (nesting deeper than the recursion limit, an integer of over 4300 digits, bytes that
    are not UTF-8): all are malformed JSON to a client, so all get the same 422.
    """
    cause = error.__cause__
    if error.status_code != 400 or cause is None:
        return None
    if isinstance(cause, RecursionError):
        return "body: the JSON is nested too deeply"
    if isinstance(cause, UnicodeDecodeError):
        return f"body: the JSON is not valid UTF-8 (byte {cause.start})"
    if isinstance(cause, ValueError):
        return f"body: the JSON cannot be parsed: {cause}"
    return None
