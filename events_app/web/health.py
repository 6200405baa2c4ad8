"""The load balancer's check."""

from __future__ import annotations

from litestar import MediaType, Request, Response, get
from sqlalchemy import text

from events_app.core.outages import RETRY_AFTER_SECONDS, is_outage
from events_app.web.forms import CSRF_EXEMPT


@get("/healthz", media_type=MediaType.JSON, include_in_schema=False, opt=CSRF_EXEMPT, name="healthz")
async def healthz(request: Request, db: int = 0) -> Response[dict[str, str]]:
    """Load balancer check; ?db=1 also proves the database answers (503 with Retry-After when it does not)."""
    if db:
        config = request.app.state.db_config
        try:
            async with config.get_session() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            if not is_outage(exc):
                raise
            return Response({"status": "unavailable", "database": "unavailable"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return Response({"status": "ok", "database": "ok"})
    return Response({"status": "ok"})
