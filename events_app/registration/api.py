from __future__ import annotations

import contextlib

from litestar import Controller, Response, get, post, put
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.status_codes import HTTP_202_ACCEPTED
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.i18n import gettext as _
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.registration.outcomes import AlreadyRegistered
from events_app.registration.schemas import (
    RegistrationIn,
    RegistrationOut,
    RegistrationReceived,
    RegistrationSettingsIn,
    RegistrationSettingsOut,
    registration_out,
    settings_out,
)
from events_app.registration.services import RegistrationService
from events_app.settings import Settings
from events_app.web.auth import provide_api_account
from events_app.web.params import SearchText
from events_app.web.schemas import provided_fields


async def provide_registration_service(db_session: AsyncSession, settings: Settings) -> RegistrationService:
    return RegistrationService(db_session, settings)


class RegistrationApi(Controller):
    path = "/events/{slug:str}"
    tags = ["registration"]
    dependencies = {"registrations": Provide(provide_registration_service), "account": Provide(provide_api_account)}

    @post("/registrations", status_code=HTTP_202_ACCEPTED,
          summary="Register for an event (public, no token); the outcome and the private link are e-mailed",
          description="Answers 202 the same way whether or not the address was registered for the event "
                      "already (then its link is e-mailed again, at most once an hour). The status (confirmed, "
                      "pending, waitlisted) and the private manage link go only to the address.", name="api_register")
    async def register(self, slug: str, data: RegistrationIn, registrations: RegistrationService
                       ) -> RegistrationReceived:
        event, row = await registrations.event_for_registration(slug)
        # An address registered already is answered exactly as a new one: the answer must not tell.
        with contextlib.suppress(AlreadyRegistered):
            await registrations.register_and_commit(event, {
                "name": data.name, "email": data.email, "affiliation": data.affiliation, "country": data.country,
                "answers": data.answers,
            }, row=row)
        return RegistrationReceived(
            email=data.email.strip(),
            detail=_("We have sent a message to this address; its link shows the registration."),
        )

    async def _event(self, slug: str, account: Account, registrations: RegistrationService) -> Event:
        return await EventService(session=registrations.session).managed_by_slug(slug, account)

    @get("/registrations", summary="List registrations (organisers)", name="api_list_registrations")
    async def list_registrations(
        self, slug: str, registrations: RegistrationService, account: Account, status: str | None = None,
        q: SearchText = None,
    ) -> list[RegistrationOut]:
        event = await self._event(slug, account, registrations)
        return [registration_out(r, p) for r, p in await registrations.list_for_event(event, status=status, q=q)]

    @get("/registrations/export", summary="Registrations as CSV (UTF-8 with BOM, for Excel)",
         media_type="text/csv; charset=utf-8", name="api_export")
    async def export(self, slug: str, registrations: RegistrationService, account: Account) -> Response[str]:
        event = await self._event(slug, account, registrations)
        return Response(
            await registrations.export_csv(event), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{event.slug}-registrations.csv"'},
        )

    @post("/registrations/{registration_id:int}/{action:str}", status_code=200,
          summary="approve, reject, cancel or promote (move from the waitlist) one registration", name="api_change")
    async def change(
        self, slug: str, registration_id: int, action: str, registrations: RegistrationService, account: Account
    ) -> RegistrationOut:
        event = await self._event(slug, account, registrations)
        registration = await registrations.for_event(event, registration_id)
        actions = {
            "approve": registrations.approve,
            "reject": registrations.reject,
            "cancel": lambda r: registrations.cancel(r, by_organiser=True),
            "promote": registrations.move_from_waitlist,
        }
        if action not in actions:
            raise NotFoundException("Unknown action; use approve, reject, cancel or promote.")
        registration = await actions[action](registration)
        return registration_out(registration, await registrations.position_of(registration))

    @get("/registration-settings", summary="Registration settings (organisers)", name="api_get_settings")
    async def get_settings(self, slug: str, registrations: RegistrationService, account: Account
                           ) -> RegistrationSettingsOut:
        event = await self._event(slug, account, registrations)
        return settings_out(await registrations.settings_for(event))

    @put("/registration-settings", summary="Change registration settings; a larger capacity promotes at once", name="api_put_settings")
    async def put_settings(
        self, slug: str, data: RegistrationSettingsIn, registrations: RegistrationService, account: Account
    ) -> RegistrationSettingsOut:
        event = await self._event(slug, account, registrations)
        fields = provided_fields(data)
        if "questions" in fields:
            fields["questions"] = [
                {"label": q.label, "kind": q.kind, "required": q.required, "options": q.options, "key": q.key}
                for q in fields["questions"]
            ]
        return settings_out(await registrations.update_settings(event, fields))


__all__ = ["RegistrationApi"]
