"""add calendar tombstones for deleted talks, and updated_at indexes for feed ETags

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-25 13:12:58.774345
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPDATED_AT_INDEXED = ('event', 'talk', 'person', 'series')


def upgrade() -> None:
    op.create_table('calendar_tombstone',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('talk_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('starts_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('ends_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('deleted_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('person_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_calendar_tombstone_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_tombstone')),
    sa.UniqueConstraint('talk_id', name=op.f('uq_calendar_tombstone_talk_id'))
    )
    with op.batch_alter_table('calendar_tombstone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_tombstone_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_tombstone_event_id'), ['event_id'], unique=False)

    # The feeds' ETag is max(updated_at) of these tables: one index lookup each.
    for table in UPDATED_AT_INDEXED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_updated_at', ['updated_at'], unique=False)



def downgrade() -> None:
    for table in UPDATED_AT_INDEXED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_updated_at')

    with op.batch_alter_table('calendar_tombstone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_tombstone_event_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_tombstone_deleted_at'))

    op.drop_table('calendar_tombstone')
