"""Configuration, read once from ``EVENTS_*`` environment variables."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./events.db"
    # No default: create_app refuses to start without a strong key (core/secret_key.py).
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str = "smtp://127.0.0.1:8025"
    mail_from: str = "International Programme <events@localhost>"
    debug: bool = False
    # Calendar clients poll feeds; one hour is what Google and Outlook honour in practice.
    calendar_refresh_seconds: int = 3600
    media_dir: Path = field(default_factory=lambda: Path("media"))
    templates_dir: Path = PROJECT_ROOT / "templates"
    run_worker_in_process: bool = False
    # Connections kept per process (PostgreSQL), and none opened beyond them: a request waits for a free one.
    # Overflow connections were closed on return and opened again a moment later under steady load (a backend
    # start and the driver's set-up each), which cost the public pages a quarter of their throughput.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # Anonymous public pages kept rendered in each worker, at most this long (0 turns it off); see web/page_cache.py.
    page_cache_seconds: int = 30
    # How long an event page kept in memory may show seat counts older than the latest registration.
    page_cache_seat_lag_seconds: float = 2.0
    # Parts of public pages that change rarely kept rendered, at most this long (0 turns it off); web/fragments.py.
    fragment_cache_seconds: int = 30
    # An event page lists its programme up to this many talks; a bigger one links to the programme page instead.
    event_page_talk_limit: int = 150
    # New registrations accepted per minute from one client address, in each process (0: no limit). Generous,
    # because a whole institute may register for a lecture from behind one address; it stops scripts.
    registration_rate_limit: int = 300
    # Encrypts personal data of the highest class at rest (core/crypto.py): a Fernet key from the environment,
    # never stored beside the data. Old keys still decrypt during a rotation.
    data_key: str = ""
    data_keys_old: tuple[str, ...] = ()
    # Sent, failed and dropped mail keeps names, addresses and private links; after this many days the worker
    # purges them from the outbox (0: as soon as the message is delivered or given up).
    mail_retention_days: int = 30
    # Visa letter data (passport name and number, nationality, date of birth) is emptied this many days after
    # the event ends (documents/services.py, purge_letter_data).
    letter_data_retention_days: int = 90
    # Where the PDF engine finds the Noto fonts (Debian: fonts-noto-core, fonts-noto-cjk); ":"-separated.
    font_dirs: tuple[str, ...] = ("/usr/share/fonts/truetype/noto", "/usr/share/fonts/opentype/noto")
    # Announcements are spread over time at this many messages a minute (0: as fast as the workers send), so a
    # large event's announcement does not trip the SMTP server's sending limits.
    announcement_per_minute: int = 600
    # With a Redis URL the login and registration limits are counted there, across all processes.
    redis_url: str = ""
    # Prefix of this app's keys in Redis (several apps or test runs may share one server).
    redis_namespace: str = "events"

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        env = os.environ
        defaults = cls()
        settings = cls(
            database_url=env.get("EVENTS_DATABASE_URL", defaults.database_url),
            secret_key=env.get("EVENTS_SECRET_KEY", defaults.secret_key),
            base_url=env.get("EVENTS_BASE_URL", defaults.base_url).rstrip("/"),
            smtp_url=env.get("EVENTS_SMTP_URL", defaults.smtp_url),
            mail_from=env.get("EVENTS_MAIL_FROM", defaults.mail_from),
            debug=_bool(env.get("EVENTS_DEBUG")),
            calendar_refresh_seconds=int(
                env.get("EVENTS_CALENDAR_REFRESH_SECONDS", defaults.calendar_refresh_seconds)
            ),
            media_dir=Path(env.get("EVENTS_MEDIA_DIR", str(defaults.media_dir))),
            run_worker_in_process=_bool(env.get("EVENTS_RUN_WORKER_IN_PROCESS")),
            db_pool_size=int(env.get("EVENTS_DB_POOL_SIZE", defaults.db_pool_size)),
            db_max_overflow=int(env.get("EVENTS_DB_MAX_OVERFLOW", defaults.db_max_overflow)),
            page_cache_seconds=int(env.get("EVENTS_PAGE_CACHE_SECONDS", defaults.page_cache_seconds)),
            fragment_cache_seconds=int(env.get("EVENTS_FRAGMENT_CACHE_SECONDS", defaults.fragment_cache_seconds)),
            event_page_talk_limit=int(env.get("EVENTS_EVENT_PAGE_TALK_LIMIT", defaults.event_page_talk_limit)),
            page_cache_seat_lag_seconds=float(
                env.get("EVENTS_PAGE_CACHE_SEAT_LAG_SECONDS", defaults.page_cache_seat_lag_seconds)
            ),
            registration_rate_limit=int(
                env.get("EVENTS_REGISTRATION_RATE_LIMIT", defaults.registration_rate_limit)
            ),
            data_key=env.get("EVENTS_DATA_KEY", defaults.data_key),
            data_keys_old=tuple(k.strip() for k in env.get("EVENTS_DATA_KEYS_OLD", "").split(",") if k.strip()),
            mail_retention_days=max(0, int(env.get("EVENTS_MAIL_RETENTION_DAYS", defaults.mail_retention_days))),
            letter_data_retention_days=max(0, int(env.get("EVENTS_LETTER_DATA_RETENTION_DAYS",
                                                          defaults.letter_data_retention_days))),
            font_dirs=tuple(d for d in env.get("EVENTS_FONT_DIRS", ":".join(defaults.font_dirs)).split(":") if d),
            announcement_per_minute=max(0, int(env.get("EVENTS_ANNOUNCEMENT_PER_MINUTE",
                                                       defaults.announcement_per_minute))),
            redis_url=env.get("EVENTS_REDIS_URL", defaults.redis_url),
            redis_namespace=env.get("EVENTS_REDIS_NAMESPACE", defaults.redis_namespace),
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def host(self) -> str:
        """Host name used in iCalendar UIDs and Message-IDs."""
        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def session_key(self) -> bytes:
        """32 bytes for the encrypted session cookie, derived so any secret length works."""
        return hashlib.sha256(("session:" + self.secret_key).encode()).digest()

    @property
    def csrf_secret(self) -> str:
        return hashlib.sha256(("csrf:" + self.secret_key).encode()).hexdigest()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
