"""series.instance_set: a token the database renews whenever a series' instances change;
series.opening: the slice a viewer opens the series with, for that set

The caches name a set of instances by it (`services/images/runtime.content_key`), so opening
a series reads one row where it read every instance's store key. Triggers renew it on every
insert, delete and re-pointing of an instance row, so writes that skip the services (another
process, a hand-written statement, a cascade) renew it too: a cache can never take a changed
set for the old one. Existing series get a token of their own, and an opening slice at
their next import or sync (until then they open from the kept stack).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-11 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SQLITE_TOKEN = 'lower(hex(randomblob(8)))'
POSTGRESQL_TOKEN = 'substr(md5(random()::text || clock_timestamp()::text), 1, 16)'
SQLITE_TRIGGERS = {  # name suffix: (event, the rows whose series changed)
    'insert': ('INSERT', 'new.series_id'),
    'delete': ('DELETE', 'old.series_id'),
    'update': ('UPDATE OF store_key, series_id', 'old.series_id, new.series_id'),
}


def upgrade() -> None:
    op.add_column('series', sa.Column('instance_set', sa.String(length=32), nullable=False,
                                      server_default=''))
    op.add_column('series', sa.Column('opening', sa.Text(), nullable=False, server_default=''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'UPDATE series SET instance_set = {POSTGRESQL_TOKEN}')
        op.execute(f"""
            CREATE FUNCTION renew_instance_set() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    UPDATE series SET instance_set = {POSTGRESQL_TOKEN} WHERE id = OLD.series_id;
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    UPDATE series SET instance_set = {POSTGRESQL_TOKEN} WHERE id = NEW.series_id;
                END IF;
                RETURN NULL;
            END $$""")
        op.execute('CREATE TRIGGER instances_renew_set AFTER INSERT OR DELETE OR UPDATE OF '
                   'store_key, series_id ON instances FOR EACH ROW EXECUTE FUNCTION '
                   'renew_instance_set()')
    else:
        op.execute(f'UPDATE series SET instance_set = {SQLITE_TOKEN}')
        for suffix, (event, series) in SQLITE_TRIGGERS.items():
            op.execute(f'CREATE TRIGGER instances_renew_set_{suffix} AFTER {event} ON instances '
                       f'BEGIN UPDATE series SET instance_set = {SQLITE_TOKEN} '
                       f'WHERE id IN ({series}); END')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS instances_renew_set ON instances')
        op.execute('DROP FUNCTION IF EXISTS renew_instance_set()')
    else:
        for suffix in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS instances_renew_set_{suffix}')
    for column in ('opening', 'instance_set'):  # SQLite 3.35+: no table rebuild
        op.execute(f'ALTER TABLE series DROP COLUMN {column}')
