"""The API key: one rule for what a key may be, and one comparison, in bytes, everywhere.

With a key, every path but the public ones (:data:`PUBLIC_PATHS`) needs it in the
``X-API-Key`` header: :class:`ApiKeyGate` refuses the others before anything else runs,
and each route's :func:`api_key_guard` dependency documents the key in the OpenAPI schema
(and checks it again).
"""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader
from starlette.types import ASGIApp, Receive, Scope, Send

from unrated.errors import InvalidParameterError
from unrated.serving.guards import error_response

API_KEY_HEADER = "X-API-Key"
#: The longest API key, in UTF-8 bytes (request heads are bounded: serving/connections.py).
MAX_API_KEY_BYTES = 4096
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="The key given to 'unrated serve'."
)


def check_api_key(key: str | None) -> bytes | None:
    """The bytes the X-API-Key header must hold: the key's UTF-8 encoding (None: no key).

    HTTP header values are bytes (Starlette reads them as latin-1): a client sends the
    key's UTF-8 bytes as the raw header value, which is what curl does with a key typed in a
    UTF-8 terminal. Keys that no client could send, or that are surely a mistake, are
    refused here, at start-up, with a message that never shows the key: empty or blank,
    leading or trailing whitespace (HTTP strips it from header values), control characters,
    text that is not valid Unicode, more than ``MAX_API_KEY_BYTES``.

    Raises:
        InvalidParameterError: the key breaks one of these rules.
    """
    if key is None:
        return None
    problem = _key_problem(key)
    if problem is not None:
        raise InvalidParameterError(
            f"API key refused: {problem}; give another key, or none to serve without one"
        )
    return key.encode("utf-8")


def _key_problem(key: str) -> str | None:
    if not key.strip():
        return "it is empty" if not key else "it is only whitespace"
    if key != key.strip():
        return "it starts or ends with whitespace, which HTTP drops from header values"
    if any(unicodedata.category(char) == "Cc" for char in key):
        return "it holds a control character, which HTTP headers cannot carry"
    if any("\ud800" <= char <= "\udfff" for char in key):
        return "it is not valid Unicode text (undecodable bytes in the environment?)"
    if len(key.encode("utf-8")) > MAX_API_KEY_BYTES:
        return f"it is longer than {MAX_API_KEY_BYTES:,} bytes"
    return None


def key_matches(given: bytes, wanted: bytes) -> bool:
    """Whether a header value's raw bytes are the key's, compared in constant time."""
    return hmac.compare_digest(given, wanted)


def api_key_guard(wanted: bytes) -> Callable[[str | None], Awaitable[None]]:
    """A dependency that refuses requests without the key (bytes) in the X-API-Key header."""

    async def check_api_key(given: str | None = Security(api_key_header)) -> None:
        # Starlette decodes header values as latin-1: encoding back gives the raw bytes.
        if given is None or not key_matches(given.encode("latin-1"), wanted):
            raise HTTPException(
                401,
                f"missing or wrong API key: send it in the {API_KEY_HEADER} header",
                headers={"WWW-Authenticate": API_KEY_HEADER},
            )

    return check_api_key


#: What answers without the API key: the health check, the web page and its files, and the
#: API schema (a browser loads them without headers). None holds users, items or scores.
PUBLIC_PATHS = frozenset({"/health", "/", "/openapi.json"})
PUBLIC_PREFIXES = ("/static/",)


def is_public(path: str) -> bool:
    """Whether ``path`` answers without the API key."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class ApiKeyGate:
    """Pure ASGI middleware: 401 for every path but the public ones without the right key.

    Deny by default: an endpoint added later needs the key even if its route forgets the
    ``api_key_guard`` dependency (which remains, to document the key in the OpenAPI schema).
    The body of a refused request is never read.
    """

    def __init__(self, app: ASGIApp, *, api_key: bytes) -> None:
        self.app, self.wanted = app, api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on if it is public or carries the key."""
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        name = API_KEY_HEADER.lower().encode()
        given = [value for key, value in scope["headers"] if key == name]
        if len(given) == 1 and key_matches(given[0], self.wanted):
            await self.app(scope, receive, send)
            return
        detail = f"missing or wrong API key: send it in the {API_KEY_HEADER} header"
        headers = {"WWW-Authenticate": API_KEY_HEADER, "Connection": "close"}
        response = error_response(401, "Unauthorized", detail, headers)
        await response(scope, receive, send)
