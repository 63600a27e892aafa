"""kb_passages.question_embedding: an FAQ entry's question embedded on its own

FAQ documents stored before this revision get it when they are next ingested (their
content hash changes with this revision's reader, so the next ingest re-reads them).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('kb_passages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question_embedding', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('kb_passages', schema=None) as batch_op:
        batch_op.drop_column('question_embedding')
