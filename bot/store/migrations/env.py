"""Alembic environment: runs migrations on the engine given by ``bot.store.db.migrate``."""

from alembic import context
from sqlalchemy import create_engine

from bot.store import (  # noqa: F401  (registers their tables)
    audit_models,
    review_models,
    telegram_models,
)
from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations with a live connection."""
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
