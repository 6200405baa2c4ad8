from __future__ import annotations

from typing import Any

import msgspec


def provided_fields(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually contained (UNSET ones are left alone)."""
    return {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if getattr(data, name) is not msgspec.UNSET
    }
