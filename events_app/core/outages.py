"""Telling "the database (or Redis) cannot be reached right now" apart from a bug.

Such requests answer 503 with Retry-After (load balancers and clients back off and retry), not 500.
"""

from __future__ import annotations

import socket

from sqlalchemy import exc as sa_exc

RETRY_AFTER_SECONDS = 30

# asyncpg errors raised while connecting that mean "not now" (server starting, full, shutting down).
_ASYNCPG_UNAVAILABLE = frozenset({
    "CannotConnectNowError", "TooManyConnectionsError", "ConnectionDoesNotExistError", "AdminShutdownError",
    "CrashShutdownError", "ConnectionFailureError", "InternalClientError",
})


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    # SQLite: "unable to open database file", "database is locked" after the busy timeout, "disk I/O error";
    # PostgreSQL drivers: lost or refused connections.
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    # asyncpg's connect raises the socket's own errors (refused, unreachable, DNS, timeout).
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if type(exc).__name__ in _ASYNCPG_UNAVAILABLE and type(exc).__module__.startswith("asyncpg"):
        return True
    try:
        from redis import exceptions as redis_exc
    except ImportError:  # pragma: no cover - redis is a dependency, but optional for this check
        return False
    return isinstance(exc, redis_exc.ConnectionError | redis_exc.TimeoutError)


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it: Advanced Alchemy wraps driver errors) is a connection failure."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _is_outage(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False
