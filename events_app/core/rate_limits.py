"""Where rate-limit counters live: this process's memory, or Redis shared by every process.

Litestar's RateLimitMiddleware reads a counter, then writes it back; across processes two requests may read
the same value and one increment is lost, so with four processes a burst could pass up to four times the
limit. On Redis the count is one atomic script instead (a fixed window that starts with the first request,
as Litestar's does).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any, cast

from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, CacheObject, RateLimitConfig, RateLimitMiddleware
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from litestar.types import Receive, Scope, Send

# Increments the window's counter and starts the window on its first hit; answers (count, seconds left).
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


def store_registry(redis_url: str, namespace: str) -> tuple[StoreRegistry, RedisStore | None]:
    """Every named store in Redis under ``namespace`` when a URL is given, else in memory. The Redis store is
    answered too: it owns the connection pool, and an app lifespan (``async with``) closes it."""
    if not redis_url:
        return StoreRegistry(default_factory=lambda _name: MemoryStore()), None
    root = RedisStore.with_client(url=redis_url, namespace=namespace)
    return StoreRegistry(default_factory=root.with_namespace), root


class SharedRateLimitMiddleware(RateLimitMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        store = self.config.get_store_from_app(app)
        if not isinstance(store, RedisStore):
            await super().__call__(scope, receive, send)
            return
        request = app.request_class(scope)
        if await self.should_check_request(request=request):
            window = DURATION_VALUES[self.unit]
            # The store's client and key scheme (namespace prefix), so the keys sit beside its other keys.
            key = store._make_key(self.cache_key_from_request(request))  # noqa: SLF001
            # redis-py types eval for its sync and async clients at once; this client is the async one.
            counting = cast("Awaitable[list[int]]", store._redis.eval(_COUNT_SCRIPT, 1, key, str(window)))  # noqa: SLF001
            count, seconds_left = await counting
            counted = CacheObject(history=[0] * int(count), reset=int(time.time()) + int(seconds_left))
            if int(count) > self.max_requests:
                headers = self.create_response_headers(counted) if self.config.set_rate_limit_headers else None
                raise TooManyRequestsException(headers=headers)
            if self.config.set_rate_limit_headers:
                send = self.create_send_wrapper(send=send, cache_object=counted)
        await self.app(scope, receive, send)


def rate_limit(limit: tuple, **options: Any) -> RateLimitConfig:
    """A RateLimitConfig whose counters are shared through Redis when the app has a Redis store registry."""
    return RateLimitConfig(rate_limit=limit, middleware_class=SharedRateLimitMiddleware, **options)
