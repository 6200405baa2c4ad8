"""Domain events: the domain that changes something announces it; the domains that care subscribe.

A signal is sent inside the sender's transaction and every receiver is awaited with the sender's session, so
what a receiver writes (an outbox row, a calendar tombstone) commits or rolls back with the change itself.
Litestar's ``app.emit`` runs after the response, outside the transaction, so it cannot do this; blinker's
async support calls receivers one by one too, but gives no ordering or typing we would use.

Receivers are connected in one place, ``events_app.wiring``, never by the module that sends the signal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Receiver = Callable[..., Awaitable[Any]]


class Signal:
    def __init__(self, name: str, doc: str = "") -> None:
        self.name = name
        self.__doc__ = doc
        self.receivers: list[Receiver] = []

    def connect(self, receiver: Receiver) -> Receiver:
        """Idempotent, so wiring twice (several apps in one process) does not run a receiver twice."""
        if receiver not in self.receivers:
            self.receivers.append(receiver)
        return receiver

    def disconnect(self, receiver: Receiver) -> None:
        if receiver in self.receivers:
            self.receivers.remove(receiver)

    async def send(self, session: AsyncSession, **payload: Any) -> list[Any]:
        """Awaits each receiver in connection order with the sender's session; returns their answers. An
        exception propagates to the sender, whose transaction then rolls back with everything received."""
        return [await receiver(session, **payload) for receiver in list(self.receivers)]

    def __repr__(self) -> str:
        return f"<Signal {self.name!r}: {len(self.receivers)} receivers>"
