"""video file lookup: /media/videos/… checks the video a file belongs to on every request

Revision ID: 0007_video_file_lookup
Revises: 0006_blocks_by_blocked
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007_video_file_lookup'
down_revision: str | None = '0006_blocks_by_blocked'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_videos_media_path', 'videos', ['media_path'], unique=False)
    op.create_index('ix_videos_poster_path', 'videos', ['poster_path'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_videos_poster_path', table_name='videos')
    op.drop_index('ix_videos_media_path', table_name='videos')
