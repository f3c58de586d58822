"""series.incomplete (an import has not finished) and instances.sha256 (the imported file)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incomplete', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('sha256')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_column('incomplete')
