"""insights from covering indexes: each billing conversation's outcome derived into its row

The schema of 047eb37 (30 Nov 2026), unchanged since: billing_conversations keeps
what became of the conversation (outcome, payment, path, declines; bot.insights.facts),
and the insights read a period from indexes that cover every column they group
and add up. The new columns start empty: bot.insights.facts derives them for
existing rows on the next read.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FACTS = (
    sa.Column("outcome", sa.String(length=16), nullable=True),
    sa.Column("currency", sa.String(length=3), nullable=True),
    sa.Column("paid_minor", sa.BigInteger(), nullable=True),
    sa.Column("seconds_to_pay", sa.Integer(), nullable=True),
    sa.Column("path", sa.String(length=16), nullable=True),
    sa.Column("came_with_reason", sa.String(length=64), nullable=True),
    sa.Column("declined_in_conversation", sa.String(length=255), nullable=True),
    sa.Column("option_chosen", sa.Boolean(), nullable=True),
    sa.Column("facts_at", sa.DateTime(timezone=True), nullable=True),
)


def upgrade() -> None:
    for column in FACTS:
        op.add_column("billing_conversations", column.copy())
    op.drop_index("ix_billing_conversation_period", table_name="billing_conversations")
    op.create_index(
        "ix_billing_conversation_period",
        "billing_conversations",
        [
            "demo",
            "day",
            "language",
            "outcome",
            "currency",
            "paid_minor",
            "path",
            "came_with_reason",
            "declined_in_conversation",
            "option_chosen",
            "seconds_to_pay",
        ],
    )
    op.create_index("ix_billing_conversation_facts", "billing_conversations", ["facts_at"])
    op.create_index("ix_billing_conversation_day", "billing_conversations", ["day"])
    op.drop_index("ix_handoff_tickets_created_at", table_name="handoff_tickets")
    op.create_index(
        "ix_ticket_insights",
        "handoff_tickets",
        ["created_at", "language", "reason", "status", "claimed_at", "ended_at", "conversation_id"],
    )
    op.create_index(
        "ix_inbox_insights", "nlu_inbox", ["created_at", "reason", "language", "conversation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_insights", table_name="nlu_inbox")
    op.drop_index("ix_ticket_insights", table_name="handoff_tickets")
    op.create_index("ix_handoff_tickets_created_at", "handoff_tickets", ["created_at"])
    op.drop_index("ix_billing_conversation_day", table_name="billing_conversations")
    op.drop_index("ix_billing_conversation_facts", table_name="billing_conversations")
    op.drop_index("ix_billing_conversation_period", table_name="billing_conversations")
    op.create_index(
        "ix_billing_conversation_period", "billing_conversations", ["demo", "day", "language"]
    )
    with op.batch_alter_table("billing_conversations") as conversations:
        for column in reversed(FACTS):
            conversations.drop_column(column.name)
