"""registration language

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

Each registration remembers the interface language it was made in, so later mail to the person is written in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=10), nullable=False, server_default='en'))
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.alter_column('locale', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('locale')
