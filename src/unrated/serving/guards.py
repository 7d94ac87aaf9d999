"""What stands between a request and the model: body-size limit, API key, errors as JSON.

Every error answers with ``{"error": <kind>, "detail": <message>}``: the kind is an unrated
error class (``UnknownIdError`` 404, ``InvalidParameterError`` 422) or an HTTP status name.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unrated.errors import DataError, InvalidParameterError, ModelFileError, UnknownIdError

logger = logging.getLogger("uvicorn.error")

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="The key given to 'unrated serve'."
)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response, encoded once (payloads are plain Python values, never numpy)."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body.encode(), status, headers, media_type="application/json")


def error_response(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """The JSON error body every failure uses."""
    return json_response({"error": error, "detail": detail}, status, headers)


def api_key_guard(expected: str) -> Callable[[str | None], Awaitable[None]]:
    """A dependency that refuses requests without ``expected`` in the X-API-Key header."""
    wanted = expected.encode()

    async def check_api_key(given: str | None = Security(api_key_header)) -> None:
        if given is None or not hmac.compare_digest(given.encode(), wanted):
            raise HTTPException(
                401,
                f"missing or wrong API key: send it in the {API_KEY_HEADER} header",
                headers={"WWW-Authenticate": API_KEY_HEADER},
            )

    return check_api_key


class BodyLimit:
    """Pure ASGI middleware: 413 for request bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        received, too_large, answered = 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLargeError
            return message

        async def replacing_send(message: Message) -> None:
            # The app may turn the error into its own answer (FastAPI: 400): send 413 instead.
            nonlocal answered
            if not too_large:
                answered = answered or message["type"] == "http.response.start"
                await send(message)
            elif not answered:
                answered = True
                await self._refuse(scope, receive, send)

        try:
            await self.app(scope, counting_receive, replacing_send)
        except _TooLargeError:
            if not answered:
                answered = True
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than the limit of {self.max_bytes:,} bytes"
        response = error_response(413, "ContentTooLarge", detail, {"Connection": "close"})
        await response(scope, receive, send)


class _TooLargeError(Exception):
    pass


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
