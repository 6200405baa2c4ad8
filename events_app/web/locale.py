from __future__ import annotations

from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from events_app.core.i18n import current_locale, negotiate_locale


class LocaleMiddleware(ASGIMiddleware):
    """Picks the interface language: ?lang=, then the 'lang' cookie, then Accept-Language."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        from litestar import Request

        request: Request = Request(scope)
        query_lang = request.query_params.get("lang")
        locale = negotiate_locale(query_lang, request.cookies.get("lang"), request.headers.get("accept-language"))
        token = current_locale.set(locale)
        scope.setdefault("state", {})["locale"] = locale

        async def send_with_cookie(message):  # remember an explicit choice for the next pages
            if query_lang and query_lang == locale and message["type"] == "http.response.start":
                cookie = Cookie(key="lang", value=locale, max_age=365 * 86400, samesite="lax", path="/")
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", cookie.to_header(header="").strip().encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await next_app(scope, receive, send_with_cookie)
        finally:
            current_locale.reset(token)
