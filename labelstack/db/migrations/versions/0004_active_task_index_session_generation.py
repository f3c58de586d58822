"""one active task per item (task_items.active + partial unique indexes) and
users.session_generation (browser sessions end on a password change or deactivation)

Existing items get `active` from their task's status; where two active tasks already hold
one item (the race the indexes now close), only the earlier item row is marked, so the
upgrade cannot fail on old data.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ITEM_COLUMNS = ('series_id', 'label_assignment_id', 'annotation_id')
ACTIVE = "('unassigned', 'open', 'in_progress')"


def upgrade() -> None:
    op.add_column('users', sa.Column('session_generation', sa.Integer(), nullable=False,
                                     server_default='0'))
    op.add_column('task_items', sa.Column('active', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    same_item = ' OR '.join(f'earlier.{c} = task_items.{c}' for c in ITEM_COLUMNS)
    op.execute(sa.text(
        f'UPDATE task_items SET active = :yes '
        f'WHERE task_id IN (SELECT id FROM tasks WHERE status IN {ACTIVE}) '
        f'AND NOT EXISTS (SELECT 1 FROM task_items AS earlier '
        f'JOIN tasks ON tasks.id = earlier.task_id '
        f'WHERE tasks.status IN {ACTIVE} AND earlier.id < task_items.id AND ({same_item}))'
    ).bindparams(yes=True))
    for column in ITEM_COLUMNS:
        op.create_index(f'uq_task_items_active_{column}', 'task_items', [column], unique=True,
                        sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))


def downgrade() -> None:
    for column in ITEM_COLUMNS:
        op.drop_index(f'uq_task_items_active_{column}', table_name='task_items')
    with op.batch_alter_table('task_items', schema=None) as batch_op:
        batch_op.drop_column('active')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
