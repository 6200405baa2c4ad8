"""Headers on every response: a strict Content-Security-Policy on pages, no sniffing, no framing, no
Referer leaving the site, and HSTS when the site is served over https.

Installed in front of Litestar's router (like the feed-path rewrite), so error pages for unmatched URLs get
them too; app-level middleware only runs for matched routes.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# Pages carry no script at all, and nothing from other origins. Style *attributes* stay allowed (the programme
# grid and the dashboard bars position boxes with computed values; they are numbers, never user text), but
# <style> elements and stylesheets must come from us: browsers that know style-src-elem apply it to
# elements, older ones fall back to style-src.
PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "style-src-elem 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])
# The API reference at /schema is Litestar's Scalar page: its script and stylesheet come from jsDelivr and
# it styles itself inline. It shows no user data and no session-bound form, so this looser policy is its alone.
SCHEMA_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' https://cdn.jsdelivr.net",
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.scalar.com",
    "img-src 'self' data: https:",
    "font-src 'self' data: https://cdn.jsdelivr.net https://fonts.scalar.com",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])
# Anything else (JSON, calendars, photos, CSV): nothing may run or load even if a browser renders it.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=63072000"  # two years; no includeSubDomains: other hosts under the domain are not ours to decide


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        schema_page = path == "/schema" or path.startswith("/schema/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                content_type = headers.get("content-type")
                if content_type is None or message["status"] == 304:
                    # No body of its own: say nothing. A browser revalidating a cached page merges a 304's
                    # headers into the stored ones, so a policy here would replace the page's own.
                    policy = None
                elif content_type.startswith("text/html"):
                    policy = SCHEMA_POLICY if schema_page else PAGE_POLICY
                    if self.https:
                        policy += "; upgrade-insecure-requests"
                else:
                    policy = OTHER_POLICY
                if policy is not None:
                    headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                # Private links (/registrations/{token}) must not travel to other sites in the Referer header.
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
                if self.https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
