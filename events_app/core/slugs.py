from __future__ import annotations

import re
from typing import Any

from advanced_alchemy.utils.text import slugify
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG_LENGTH = 100


def slug_base(title: str, fallback: str) -> str:
    # Titles in Chinese script have no ASCII letters; they get a neutral base and a number.
    return slugify(title)[:MAX_SLUG_LENGTH].strip("-") or fallback


async def available_slug(session: AsyncSession, column: Any, base: str) -> str:
    """First free slug among base, base-2, base-3...; the unique constraint still guards races."""
    taken = set(await session.scalars(select(column).where(column.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
