"""add online registration

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Registration settings per event (mode, window, capacity, waitlist, questions), registrations (one per
normalised e-mail per event, enforced by a unique constraint) and further private manage links; tokens are
stored only as SHA-256 hashes.
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('registration',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_normalised', sa.String(length=254), nullable=False),
    sa.Column('affiliation', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('confirmed', 'pending', 'waitlisted', 'offered', 'cancelled', 'rejected', name='ck_registrationstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('waitlist_seq', sa.Integer(), nullable=True),
    sa.Column('offer_expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('checkin_code', sa.String(length=16), nullable=False),
    sa.Column('checked_in_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('manage_token_hash', sa.String(length=64), nullable=False),
    sa.Column('calendar_token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_registration_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration')),
    sa.UniqueConstraint('calendar_token_hash', name=op.f('uq_registration_calendar_token_hash')),
    sa.UniqueConstraint('event_id', 'checkin_code', name='uq_registration_event_checkin_code'),
    sa.UniqueConstraint('event_id', 'email_normalised', name='uq_registration_event_email'),
    sa.UniqueConstraint('manage_token_hash', name=op.f('uq_registration_manage_token_hash'))
    )
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_email_normalised'), ['email_normalised'], unique=False)
        batch_op.create_index('ix_registration_event_status', ['event_id', 'status'], unique=False)

    op.create_table('registration_settings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mode', sa.Enum('open', 'approval', 'closed', name='ck_registrationmode', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('opens_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('closes_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('waitlist_enabled', sa.Boolean(), nullable=False),
    sa.Column('promotion', sa.Enum('confirm', 'offer', name='ck_promotionmode', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('offer_hours', sa.Integer(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_registration_settings_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_settings')),
    sa.UniqueConstraint('event_id', name=op.f('uq_registration_settings_event_id'))
    )
    op.create_table('registration_link',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('registration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_registration_link_registration_id_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_registration_link_token_hash'))
    )
    with op.batch_alter_table('registration_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_link_registration_id'), ['registration_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('registration_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_link_registration_id'))

    op.drop_table('registration_link')
    op.drop_table('registration_settings')
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_event_status')
        batch_op.drop_index(batch_op.f('ix_registration_email_normalised'))

    op.drop_table('registration')
