"""reminders and attendee-only online links

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

Reminders: offsets per event (registration_settings.reminder_offsets, NULL for the default), one row per reminder
sent (reminder_sent, unique per registration and offset, so none goes out twice), and the attendee's own time
zone (registration.timezone). An event's meeting link can be for registered attendees only
(event.online_url_private).
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reminder_sent',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('registration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('offset_minutes', sa.Integer(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_reminder_sent_registration_id_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_sent')),
    sa.UniqueConstraint('registration_id', 'offset_minutes', name='uq_reminder_sent_once')
    )
    with op.batch_alter_table('reminder_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_sent_registration_id'), ['registration_id'], unique=False)

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('online_url_private', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default=''))

    with op.batch_alter_table('registration_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_offsets', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('registration_settings', schema=None) as batch_op:
        batch_op.drop_column('reminder_offsets')

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('timezone')

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('online_url_private')

    with op.batch_alter_table('reminder_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_sent_registration_id'))

    op.drop_table('reminder_sent')
