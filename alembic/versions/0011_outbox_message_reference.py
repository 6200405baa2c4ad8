"""outbox message reference

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Each outbox message names what it is about ("registration:42"), so deleting a person's registration deletes its
mail, queued or sent, at once. Queued registration mail gets its reference from its payload.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_reference'), ['reference'], unique=False)
    outbox = sa.table('outbox_message', sa.column('id', sa.BigInteger), sa.column('composer', sa.String),
                      sa.column('payload', sa.JSON), sa.column('reference', sa.String))
    connection = op.get_bind()
    queued = connection.execute(sa.select(outbox.c.id, outbox.c.payload).where(
        outbox.c.composer == 'registration', outbox.c.payload.is_not(None))).all()
    for ident, payload in queued:
        if isinstance(payload, dict) and payload.get('registration_id') is not None:
            connection.execute(sa.update(outbox).where(outbox.c.id == ident)
                               .values(reference=f"registration:{payload['registration_id']}"))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_reference'))
        batch_op.drop_column('reference')
