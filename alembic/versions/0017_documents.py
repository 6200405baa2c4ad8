"""documents: visa invitation letters, certificates, their template and verification

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-30

Letter requests (passport name, nationality, passport number and date of birth as Fernet tokens in Text
columns: events_app.core.crypto.EncryptedText), the per-event document template, and issued documents (what
/verify/{reference} shows).
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('document_settings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('letters_on_registration', sa.Boolean(), nullable=False),
    sa.Column('certificates_for_confirmed', sa.Boolean(), nullable=False),
    sa.Column('letterhead', sa.LargeBinary(), nullable=True),
    sa.Column('signatory_name', sa.String(length=200), nullable=False),
    sa.Column('signatory_title', sa.String(length=200), nullable=False),
    sa.Column('letter_body_en', sa.Text(), nullable=False),
    sa.Column('letter_body_zh', sa.Text(), nullable=False),
    sa.Column('certificate_body_en', sa.Text(), nullable=False),
    sa.Column('certificate_body_zh', sa.Text(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_document_settings_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_settings')),
    sa.UniqueConstraint('event_id', name=op.f('uq_document_settings_event_id'))
    )
    op.create_table('issued_document',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.Enum('letter', 'certificate', name='ck_documentkind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('registration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('issued_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('revoked_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('revoked_by_name', sa.String(length=300), nullable=False),
    sa.Column('mailed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_issued_document_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_issued_document_person_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_issued_document_registration_id_registration'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_document')),
    sa.UniqueConstraint('event_id', 'kind', 'person_id', name='uq_issued_document_person'),
    sa.UniqueConstraint('event_id', 'kind', 'registration_id', name='uq_issued_document_registration'),
    sa.UniqueConstraint('reference', name=op.f('uq_issued_document_reference'))
    )
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_document_event_id'), ['event_id'], unique=False)

    op.create_table('letter_request',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('registration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('invitation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('passport_name', sa.Text(), nullable=True),
    sa.Column('nationality', sa.Text(), nullable=True),
    sa.Column('passport_number', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Text(), nullable=True),
    sa.Column('stay_from', sa.Date(), nullable=False),
    sa.Column('stay_until', sa.Date(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='ck_letterstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_by_name', sa.String(length=300), nullable=False),
    sa.Column('decided_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('purged_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['account.id'], name=op.f('fk_letter_request_decided_by_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['issued_document.id'], name=op.f('fk_letter_request_document_id_issued_document'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_letter_request_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_letter_request_invitation_id_invitation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_letter_request_registration_id_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letter_request'))
    )
    with op.batch_alter_table('letter_request', schema=None) as batch_op:
        batch_op.create_index('ix_letter_request_event_status', ['event_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_letter_request_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letter_request_registration_id'), ['registration_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('letter_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_request_registration_id'))
        batch_op.drop_index(batch_op.f('ix_letter_request_invitation_id'))
        batch_op.drop_index('ix_letter_request_event_status')

    op.drop_table('letter_request')
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_document_event_id'))

    op.drop_table('issued_document')
    op.drop_table('document_settings')
