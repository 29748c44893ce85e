"""Bearer-token checks for writes (always) and reads (when ``read_requires_token``).

The token is compared with :func:`hmac.compare_digest` so the comparison takes the same time
whatever prefix matches. Without a configured token every write is refused: an open write API
by accident is worse than a clear 403.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tracker.api.errors import WritesDisabled
from tracker.errors import AuthError
from tracker.settings import Settings

WRITES_DISABLED = "writes are disabled: set api_token in the configuration"
TOKEN_MISSING = "missing bearer token: send 'Authorization: Bearer <api_token>'"
TOKEN_WRONG = "invalid bearer token"

# auto_error=False: we raise our own errors so the one handler shapes every response.
bearer = HTTPBearer(auto_error=False, description="The api_token from the configuration.")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _check(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    if settings.api_token is None:
        raise WritesDisabled(WRITES_DISABLED)
    if credentials is None or not credentials.credentials:
        raise AuthError(TOKEN_MISSING)
    expected = settings.api_token.get_secret_value().encode("utf-8")
    if not hmac.compare_digest(credentials.credentials.encode("utf-8"), expected):
        raise AuthError(TOKEN_WRONG)


async def require_write(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)
) -> None:
    """Dependency of every write route (async: it never blocks, so it needs no thread)."""
    _check(_settings(request), credentials)


async def require_read(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)
) -> None:
    """Dependency of every read route except the health check."""
    settings = _settings(request)
    if not settings.read_requires_token:
        return
    if settings.api_token is None:
        # read_requires_token without a token would lock everyone out; refuse clearly.
        raise WritesDisabled("reads require a token but no api_token is configured")
    _check(settings, credentials)
