"""calendar: withdrawn events

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

A published event taken back to draft stays in the feeds as STATUS:CANCELLED, as it was when last public
(calendar.models.WithdrawnEvent).
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_withdrawn_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('series_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('starts_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('ends_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('withdrawn_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_calendar_withdrawn_event_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_calendar_withdrawn_event_series_id_series'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_withdrawn_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_calendar_withdrawn_event_event_id'))
    )
    with op.batch_alter_table('calendar_withdrawn_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_withdrawn_event_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_withdrawn_event_withdrawn_at'), ['withdrawn_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calendar_withdrawn_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_withdrawn_event_withdrawn_at'))
        batch_op.drop_index(batch_op.f('ix_calendar_withdrawn_event_ends_at'))
    op.drop_table('calendar_withdrawn_event')
