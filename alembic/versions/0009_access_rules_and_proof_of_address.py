"""access rules and proof of address

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Security issue #10, access rules (see docs/security.md):
- series and person remember who created them (they may edit them; see events/access.py, speakers/access.py);
- an invitation keeps the address its links go to, so editing or merging the shared person cannot redirect them;
- a registration records when its address was proven (a link e-mailed to it was opened) and when its link was
  last mailed again; the first link of registrations made before this revision was also shown to whoever filled
  in the form, so it moves to `shown_link_hash`, where it still opens the registration but proves nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('series', 'person'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                          nullable=True))
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_created_by_id_account'), 'account',
                                        ['created_by_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=False, server_default=''))
    # Existing invitations were sent to the person's address of the time: the best record of it there is.
    op.execute(
        "UPDATE invitation SET email = COALESCE((SELECT person.email FROM person "
        "WHERE person.id = invitation.person_id), '')"
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.alter_column('email', server_default=None)

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_link_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('email_verified_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('link_resent_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_registration_shown_link_hash'), ['shown_link_hash'], unique=True)
    # The first link of every registration so far was shown as well as mailed: it moves to shown_link_hash, and
    # manage_token_hash gets a hash no token has (each row its own: the column is unique).
    connection = op.get_bind()
    for registration_id, shown in connection.execute(sa.text("SELECT id, manage_token_hash FROM registration")):
        connection.execute(
            sa.text("UPDATE registration SET shown_link_hash = :shown, manage_token_hash = :unknown WHERE id = :id"),
            {"shown": shown, "unknown": hashlib.sha256(secrets.token_bytes(32)).hexdigest(), "id": registration_id},
        )


def downgrade() -> None:
    op.execute("UPDATE registration SET manage_token_hash = shown_link_hash WHERE shown_link_hash IS NOT NULL")
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_shown_link_hash'))
        batch_op.drop_column('link_resent_at')
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('shown_link_hash')

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_column('email')

    for table in ('person', 'series'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_created_by_id_account'), type_='foreignkey')
            batch_op.drop_column('created_by_id')
