"""Bounds for the numbers and search text that paths and queries accept, shared by pages and the API.

Litestar checks them before the handler runs and answers 400 naming the parameter (web/errors.py), so an
absurd page number or offset never reaches the database as an OFFSET it cannot hold.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

# 100,000 pages of 20 are two million events; no listing here comes near it.
MAX_PAGE = 100_000
MAX_OFFSET = 10_000_000
MAX_SEARCH = 200

Page = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page number, from 1")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="Items to skip")]
SearchText = Annotated[str | None, Parameter(max_length=MAX_SEARCH, description="Words to look for")]
