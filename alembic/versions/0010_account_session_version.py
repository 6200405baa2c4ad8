"""account session version

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

Every organiser session carries the account's session version; logout, a password change, deactivation and
"log out everywhere" bump it, which ends every session made before. Existing cookies carry no version, so
everyone logs in once more after this upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.alter_column('session_version', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('session_version')
