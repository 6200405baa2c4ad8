"""The JSON API under /api: every domain's API controllers in one router."""

from litestar import Router

from events_app.calls.api import CallApi, EventCallApi
from events_app.documents.api import DocumentApi
from events_app.events.api import EventApi, SeriesApi
from events_app.registration.api import RegistrationApi
from events_app.registration.mail_api import MailApi
from events_app.schedule.api import RoomApi, SessionApi, TalkApi
from events_app.speakers.api import SpeakerApi
from events_app.web.forms import CSRF_EXEMPT

api_router = Router(
    path="/api", route_handlers=[EventApi, SeriesApi, SpeakerApi, TalkApi, RoomApi, SessionApi, RegistrationApi,
                   MailApi, DocumentApi, CallApi, EventCallApi],
    # Bearer tokens, never cookies, authenticate the API: a cross-site form cannot use them.
    opt=CSRF_EXEMPT,
)
