"""knowledge_gap_words: words of unanswered questions that a collection's documents do
not use, marked by an admin as "not something we do"

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'knowledge_gap_words',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('collection', sa.String(length=64), nullable=False),
        sa.Column('word', sa.String(length=80), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('marked_by', sa.String(length=254), nullable=False),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_gap_words')),
        sa.UniqueConstraint('collection', 'word',
                            name=op.f('uq_knowledge_gap_words_collection')),
    )


def downgrade() -> None:
    op.drop_table('knowledge_gap_words')
