"""knowledge_labels: reviewers' labels of unanswered service questions ("the documents do
answer this", with the passage's document, or "not covered"); knowledge_thresholds: each
collection's thresholds of the "not covered" decision, calibrated from those labels

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'knowledge_labels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('query_id', sa.Integer(), nullable=False),
        sa.Column('collection', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=20), nullable=False),
        sa.Column('source', sa.String(length=600), nullable=True),
        sa.Column('labelled_by', sa.Integer(), nullable=True),
        sa.Column('labelled_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['query_id'], ['knowledge_queries.id'],
                                name=op.f('fk_knowledge_labels_query_id_knowledge_queries'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['labelled_by'], ['users.id'],
                                name=op.f('fk_knowledge_labels_labelled_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_labels')),
        sa.UniqueConstraint('query_id', name=op.f('uq_knowledge_labels_query_id')),
    )
    op.create_index(op.f('ix_knowledge_labels_collection'), 'knowledge_labels',
                    ['collection'], unique=False)
    op.create_table(
        'knowledge_thresholds',
        sa.Column('collection', sa.String(length=64), nullable=False),
        sa.Column('similarity', sa.Float(), nullable=False),
        sa.Column('word_match', sa.Float(), nullable=False),
        sa.Column('offered_match', sa.Float(), nullable=False),
        sa.Column('set_by', sa.String(length=254), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('collection', name=op.f('pk_knowledge_thresholds')),
    )


def downgrade() -> None:
    op.drop_table('knowledge_thresholds')
    op.drop_index(op.f('ix_knowledge_labels_collection'), table_name='knowledge_labels')
    op.drop_table('knowledge_labels')
