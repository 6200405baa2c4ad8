"""Private links never reach the logs: access-log lines show `/registrations/[redacted]`, not the token.

Whoever holds `/registrations/{token}`, `/invitations/{token}` or `/my/calendar/{token}.ics` can read and
change that person's data, so a log line with one is a credential in a file many people can read.
`events-app run` installs this filter on uvicorn's access log; elsewhere use `uvicorn_log_config()` (or
`uvicorn --log-config docs/uvicorn-logging.json`, which installs the same filter).
"""

from __future__ import annotations

import copy
import logging
import re

REDACTED = "[redacted]"

# Private-link paths, anchored at the start so organiser pages (`/organiser/events/x/registrations/3/...`)
# keep their ids.
_PRIVATE_PATH = re.compile(r"^(/registrations/|/invitations/|/my/calendar/)[^/?#]+")
_PRIVATE_QUERY = re.compile(r"(?i)(^|[?&])(token|code|key)=[^&#]*")


def redact_path(path: str) -> str:
    path = _PRIVATE_PATH.sub(lambda m: m[1] + REDACTED, path)
    return _PRIVATE_QUERY.sub(lambda m: f"{m[1]}{m[2]}={REDACTED}", path)


class RedactPrivateLinks(logging.Filter):
    """Rewrites every path-like argument of a record (uvicorn's access log passes the path as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg for arg in record.args
            )
        return True


def uvicorn_log_config() -> dict:
    """uvicorn's own logging configuration with the filter on its access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_private_links"] = {"()": f"{__name__}.RedactPrivateLinks"}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_private_links"]
    return config
