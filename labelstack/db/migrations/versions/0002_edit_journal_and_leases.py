"""edit journal and editing leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import labelstack.db.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('annotation_edits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('box', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=False),
    sa.Column('active_seconds', sa.Float(), nullable=False),
    sa.Column('created_at', labelstack.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_annotation_edits_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_annotation_edits_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotation_edits')),
    sa.UniqueConstraint('annotation_id', 'sequence', name='uq_edit_sequence')
    )
    with op.batch_alter_table('annotation_edits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annotation_edits_annotation_id'), ['annotation_id'], unique=False)

    op.create_table('annotation_leases',
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('acquired_at', labelstack.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', labelstack.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_annotation_leases_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_annotation_leases_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('annotation_id', name=op.f('pk_annotation_leases'))
    )


def downgrade() -> None:
    op.drop_table('annotation_leases')
    with op.batch_alter_table('annotation_edits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_annotation_edits_annotation_id'))
    op.drop_table('annotation_edits')
