"""One place that turns exceptions into answers: JSON for /api, pages (or a login redirect) for people."""

from __future__ import annotations

from advanced_alchemy.exceptions import RepositoryError
from advanced_alchemy.extensions.litestar.exception_handler import exception_to_http_response
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.response import Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from events_app.core.i18n import gettext as _
from events_app.core.outages import RETRY_AFTER_SECONDS, is_outage
from events_app.core.validation import Conflict, ValidationFailed
from events_app.web.auth import LoginRequired
from events_app.web.urls import redirect_to


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Template(
        template_name="errors/error.html",
        context={"status": status, "message": message},
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers,
    )


def validation_failed_handler(request: Request, exc: ValidationFailed) -> Response:
    errors = [{"field": field, "message": message} for field, message in exc.errors.items()]
    if is_api(request):
        return Response(
            {"detail": "Validation failed", "status_code": HTTP_422_UNPROCESSABLE_ENTITY, "errors": errors},
            status_code=HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return _error_page(request, HTTP_422_UNPROCESSABLE_ENTITY, "; ".join(exc.errors.values()))


def conflict_handler(request: Request, exc: Conflict) -> Response:
    if is_api(request):
        return Response(
            {"detail": exc.message, "status_code": HTTP_409_CONFLICT,
             "errors": [{"field": exc.field, "message": exc.message}]},
            status_code=HTTP_409_CONFLICT,
        )
    return _error_page(request, HTTP_409_CONFLICT, exc.message)


def litestar_validation_handler(request: Request, exc: ValidationException) -> Response:
    # Litestar's own body/query decoding errors (wrong JSON type, missing key, a bound crossed): keep its field
    # details, so every answer names the field.
    errors = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            errors.append({"field": key, "message": str(item.get("message", exc.detail)),
                           "source": item.get("source")})
    if errors and all(e["source"] == "path" for e in errors):
        # A path parameter that cannot be what it names (an id past 64 bits...) names nothing: 404, not 400.
        return http_exception_handler(request, NotFoundException("No such item."))
    if is_api(request):
        return Response(
            {"detail": exc.detail or "Invalid request", "status_code": HTTP_400_BAD_REQUEST,
             "errors": [{"field": e["field"], "message": e["message"]} for e in errors]},
            status_code=HTTP_400_BAD_REQUEST,
        )
    fields = ", ".join(dict.fromkeys(str(e["field"]) for e in errors if e["field"]))
    message = (_("The request could not be understood (%(fields)s).", fields=fields) if fields
               else _("The request could not be understood."))
    return _error_page(request, HTTP_400_BAD_REQUEST, message)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, LoginRequired) and not is_api(request):
        return redirect_to("login", next=request.url.path)
    if is_api(request):
        body = {"detail": exc.detail, "status_code": exc.status_code}
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthorizedException) else None
        return Response(body, status_code=exc.status_code, headers=headers)
    messages = {
        401: _("Please log in."),
        403: _("You are not allowed to do this."),
        404: _("This page does not exist, or is not public."),
        405: _("This action is not available here."),
        429: _("Too many requests; please wait a minute and try again."),
    }
    message = messages.get(exc.status_code, exc.detail)
    if exc.status_code == 403 and "CSRF" in (exc.detail or ""):
        message = _("This form has expired. Please go back, reload the page and try again.")
    return _error_page(request, exc.status_code, message)


def service_unavailable(request: Request, exc: BaseException) -> Response:
    """The database (or Redis) cannot be reached: 503 and when to retry, so clients and balancers back off."""
    request.logger.warning("database unavailable: %s", exc.__class__.__name__)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if is_api(request):
        return Response({"detail": "Service temporarily unavailable; please retry later.", "status_code": 503},
                        status_code=HTTP_503_SERVICE_UNAVAILABLE, headers=headers)
    return _error_page(request, HTTP_503_SERVICE_UNAVAILABLE,
                       _("The site is briefly unavailable. Please try again in a minute."), headers)


def repository_error_handler(request: Request, exc: RepositoryError) -> Response:
    # Advanced Alchemy wraps driver errors (a refused connection among them) in its own exceptions.
    if is_outage(exc):
        return service_unavailable(request, exc)
    return exception_to_http_response(request, exc)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    if is_outage(exc):
        return service_unavailable(request, exc)
    request.logger.exception("unhandled error", exc_info=exc)
    if is_api(request):
        return Response({"detail": "Internal server error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)
    return _error_page(request, HTTP_500_INTERNAL_SERVER_ERROR, _("Something went wrong on our side."))


exception_handlers: ExceptionHandlersMap = {
    ValidationFailed: validation_failed_handler,
    Conflict: conflict_handler,
    ValidationException: litestar_validation_handler,
    HTTPException: http_exception_handler,
    RepositoryError: repository_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
