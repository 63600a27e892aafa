"""api_tokens.form_id: the one-time id of the form that made a token, unique

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tokens made before have none (NULL): unique constraints allow any number of NULLs.
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_api_tokens_form_id'), ['form_id'])


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_api_tokens_form_id'), type_='unique')
        batch_op.drop_column('form_id')
