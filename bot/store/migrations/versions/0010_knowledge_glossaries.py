"""knowledge_glossaries: each collection's glossary of residents' words for the
documents' terms, and whether the general UK glossary applies

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'knowledge_glossaries',
        sa.Column('collection', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('use_general', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('collection', name=op.f('pk_knowledge_glossaries')),
    )


def downgrade() -> None:
    op.drop_table('knowledge_glossaries')
