"""The JSON API under /api: every domain's API controllers in one router."""

from litestar import Router

from events_app.events.api import EventApi, SeriesApi
from events_app.registration.api import RegistrationApi
from events_app.schedule.api import RoomApi, SessionApi, TalkApi
from events_app.speakers.api import SpeakerApi

api_router = Router(
    path="/api", route_handlers=[EventApi, SeriesApi, SpeakerApi, TalkApi, RoomApi, SessionApi, RegistrationApi]
)
