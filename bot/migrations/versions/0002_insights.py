"""insights: billing conversations, payments linked to their conversation, the lead role

The schema of 74662f4 (30 Nov 2026): the actions note each conversation in which a
signed-in customer was shown a past-due balance (billing_conversations), a charge
carries the conversation that made it (payment_attempts.conversation_id), console
accounts may be leads, and the insights' reads get indexes. Existing rows keep
their values; the new column is empty for payments made before.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "payment_attempts", sa.Column("conversation_id", sa.String(length=255), nullable=True)
    )
    op.create_index(
        "ix_payment_attempts_conversation_id", "payment_attempts", ["conversation_id"]
    )
    op.create_index("ix_card_form_links_sender_id", "card_form_links", ["sender_id"])
    op.create_index("ix_handoff_tickets_created_at", "handoff_tickets", ["created_at"])
    # SQLite cannot change a CHECK constraint in place: batch mode copies the table.
    with op.batch_alter_table("agents") as agents:
        agents.drop_constraint("ck_agent_role", type_="check")
        agents.create_check_constraint("ck_agent_role", "role IN ('agent', 'trainer', 'lead')")
    op.create_table(
        "billing_conversations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("balance_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["balance_id"], ["balances.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_billing_conversation",
        "billing_conversations",
        ["conversation_id", "balance_id"],
        unique=True,
    )
    op.create_index(
        "ix_billing_conversation_period", "billing_conversations", ["demo", "day", "language"]
    )
    op.create_index(
        "ix_billing_conversations_customer_id", "billing_conversations", ["customer_id"]
    )
    op.create_index("ix_billing_conversations_balance_id", "billing_conversations", ["balance_id"])


def downgrade() -> None:
    """Back to 0001; refused while a lead account exists (0001 has no such role)."""
    op.drop_table("billing_conversations")
    with op.batch_alter_table("agents") as agents:
        agents.drop_constraint("ck_agent_role", type_="check")
        agents.create_check_constraint("ck_agent_role", "role IN ('agent', 'trainer')")
    op.drop_index("ix_handoff_tickets_created_at", table_name="handoff_tickets")
    op.drop_index("ix_card_form_links_sender_id", table_name="card_form_links")
    op.drop_index("ix_payment_attempts_conversation_id", table_name="payment_attempts")
    with op.batch_alter_table("payment_attempts") as attempts:
        attempts.drop_column("conversation_id")
