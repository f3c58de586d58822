"""indexes for the paged lists, and text search: pg_trgm GIN indexes or SQLite FTS5 tables

The search objects are not in the models (`db/text_search.py` says why). On SQLite the FTS5
tables are kept in sync by triggers on their table: a later migration that rebuilds `tasks`,
`studies` or `series` in batch mode drops those triggers and must create them again
(`create_fts` below). pg_trgm ships with PostgreSQL; creating it needs the CREATE privilege
on the database (the owner has it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 09:00:00
"""

from alembic import op

from labelstack.db.text_search import SEARCHABLE, Searchable

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BTREE = {
    'ix_tasks_created_at': ('tasks', ['created_at']),
    'ix_tasks_updated_at': ('tasks', ['updated_at']),
    'ix_tasks_name': ('tasks', ['name']),
    'ix_audit_events_action_created_at': ('audit_events', ['action', 'created_at']),
}


def upgrade() -> None:
    for name, (table, columns) in BTREE.items():
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for s in SEARCHABLE:
            for column in s.columns:
                op.execute(f'CREATE INDEX {s.trigram_index(column)} ON {s.table} '
                           f'USING gin ({column} gin_trgm_ops)')
    else:
        for s in SEARCHABLE:
            create_fts(s)


def create_fts(s: Searchable) -> None:
    """The FTS5 mirror of `s`, its triggers, and its content as of now."""
    cols = ', '.join(s.columns)
    new = ', '.join(f'new.{c}' for c in s.columns)
    old = ', '.join(f'old.{c}' for c in s.columns)
    forget = f"INSERT INTO {s.fts}({s.fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    learn = f'INSERT INTO {s.fts}(rowid, {cols}) VALUES (new.id, {new});'
    op.execute(f"CREATE VIRTUAL TABLE {s.fts} USING fts5({cols}, content='{s.table}', "
               f"content_rowid='id', tokenize='trigram')")
    op.execute(f'CREATE TRIGGER {s.fts}_ai AFTER INSERT ON {s.table} BEGIN {learn} END')
    op.execute(f'CREATE TRIGGER {s.fts}_ad AFTER DELETE ON {s.table} BEGIN {forget} END')
    op.execute(f'CREATE TRIGGER {s.fts}_au AFTER UPDATE OF {cols} ON {s.table} '
               f'BEGIN {forget} {learn} END')
    op.execute(f"INSERT INTO {s.fts}({s.fts}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for s in SEARCHABLE:
            for column in s.columns:
                op.execute(f'DROP INDEX IF EXISTS {s.trigram_index(column)}')
    else:
        for s in SEARCHABLE:
            for suffix in ('ai', 'ad', 'au'):
                op.execute(f'DROP TRIGGER IF EXISTS {s.fts}_{suffix}')
            op.execute(f'DROP TABLE IF EXISTS {s.fts}')
    for name, (table, _columns) in BTREE.items():
        op.drop_index(name, table_name=table)
