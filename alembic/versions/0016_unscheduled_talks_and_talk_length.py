"""unscheduled talks and the event's default talk length

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

A talk may have no time yet (an accepted invitation, a proposal): talk.starts_at and talk.ends_at become
nullable, both NULL meaning "unscheduled". event.default_talk_minutes is how long a new talk is on the form.
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('talk', schema=None) as batch_op:
        batch_op.alter_column('starts_at', existing_type=advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                              nullable=True)
        batch_op.alter_column('ends_at', existing_type=advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                              nullable=True)

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_talk_minutes', sa.Integer(), nullable=False, server_default='30'))


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('default_talk_minutes')

    # An unscheduled talk has no place in the older schema, which requires a time.
    op.execute("DELETE FROM talk WHERE starts_at IS NULL OR ends_at IS NULL")
    with op.batch_alter_table('talk', schema=None) as batch_op:
        batch_op.alter_column('ends_at', existing_type=advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                              nullable=False)
        batch_op.alter_column('starts_at', existing_type=advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                              nullable=False)
