"""compose mail in the worker

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

An outbox row may carry a composer name and a JSON payload instead of the finished message: the worker
builds the message before the first attempt, so a request that queues mail only writes a small row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('composer', sa.String(length=60), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('composer', server_default=None)


def downgrade() -> None:
    # Messages not yet composed cannot be kept without a body: they are marked failed.
    op.execute("UPDATE outbox_message SET raw = '', status = 'failed' WHERE raw IS NULL")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('payload')
        batch_op.drop_column('composer')
