"""The handoff queue on SQLite and PostgreSQL: tickets, positions, the claim race."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine

from bot.billing.accounts import find_past_due
from bot.db import session_scope
from bot.support import handoff
from bot.support.agents import add_agent
from bot.support.handoff import TicketConflict, build_packet
from bot.support.transcript import transcript

PACKET = {"customer": None, "transcript": []}


def _open(engine: Engine, conversation: str, customer: str | None = None) -> handoff.Queued:
    with session_scope(engine) as session:
        return handoff.open_ticket(
            session,
            conversation_id=conversation,
            customer_id=customer,
            language="lv",
            reason="customer_asked",
            packet=PACKET,
        )


def _agents(engine: Engine, *names: str) -> list[int]:
    with session_scope(engine) as session:
        return [add_agent(session, name, "a long password").id for name in names]


def test_tickets_queue_in_order_and_one_per_conversation(seeded_engine: Engine) -> None:
    first = _open(seeded_engine, "conv-1", "cust-lv-owner")
    second = _open(seeded_engine, "conv-2")
    again = _open(seeded_engine, "conv-1", "cust-lv-owner")
    assert (first.position, second.position) == (1, 2)
    assert first.created and second.created and not again.created
    assert again.ticket_id == first.ticket_id and again.position == 1


def test_claiming_moves_the_queue_and_only_the_holder_may_act(seeded_engine: Engine) -> None:
    anna, bob = _agents(seeded_engine, "anna", "bob")
    first, second = _open(seeded_engine, "conv-1"), _open(seeded_engine, "conv-2")
    with session_scope(seeded_engine) as session:
        ticket = handoff.claim(session, first.ticket_id, anna)
        assert (ticket.status, ticket.agent_id) == ("active", anna)
        assert handoff.queue_position(session, handoff.get_ticket(session, second.ticket_id)) == 1
        assert handoff.claim(session, first.ticket_id, anna).agent_id == anna  # idempotent
    with session_scope(seeded_engine) as session, pytest.raises(TicketConflict, match="anna"):
        handoff.claim(session, first.ticket_id, bob)
    with session_scope(seeded_engine) as session, pytest.raises(TicketConflict, match="anna"):
        handoff.held_by(session, first.ticket_id, bob)
    with session_scope(seeded_engine) as session, pytest.raises(TicketConflict, match="Claim"):
        handoff.held_by(session, second.ticket_id, anna)
    with session_scope(seeded_engine) as session:
        assert handoff.end(session, first.ticket_id, anna, "handed_back").status == "handed_back"
        assert [t.conversation_id for t in handoff.list_open(session)] == ["conv-2"]
    with session_scope(seeded_engine) as session, pytest.raises(TicketConflict, match="ended"):
        handoff.claim(session, first.ticket_id, anna)
    # A new escalation of the same conversation opens a new ticket.
    assert _open(seeded_engine, "conv-1").created


def test_exactly_one_of_two_simultaneous_claims_wins(seeded_engine: Engine) -> None:
    agents = _agents(seeded_engine, "anna", "bob", "carla", "dan")
    ticket_id = _open(seeded_engine, "conv-race").ticket_id
    start = threading.Barrier(len(agents))
    outcomes: dict[int, str] = {}

    def claim(agent_id: int) -> None:
        start.wait()
        try:
            with session_scope(seeded_engine) as session:
                handoff.claim(session, ticket_id, agent_id)
            outcomes[agent_id] = "won"
        except TicketConflict:
            outcomes[agent_id] = "lost"

    threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["lost", "lost", "lost", "won"]
    winner = next(a for a, o in outcomes.items() if o == "won")
    with session_scope(seeded_engine) as session:
        assert handoff.get_ticket(session, ticket_id).agent_id == winner


def test_activity_puts_a_conversation_first(seeded_engine: Engine) -> None:
    _open(seeded_engine, "conv-old")
    _open(seeded_engine, "conv-new")
    with session_scope(seeded_engine) as session:
        assert handoff.touch(session, "conv-old")
        assert not handoff.touch(session, "conv-without-ticket")
    with session_scope(seeded_engine) as session:
        assert [t.conversation_id for t in handoff.list_open(session)] == ["conv-old", "conv-new"]


def test_the_packet_holds_what_an_agent_needs_and_no_card_number(seeded_engine: Engine) -> None:
    events = [
        {"event": "user", "text": "Mana karte 4242 4242 4242 4242", "timestamp": 1.0},
        {"event": "bot", "text": "Nerakstiet kartes numuru sarunā.", "timestamp": 2.0},
        {
            "event": "user",
            "text": "/change_expiry",
            "timestamp": 3.0,
            "parse_data": {"intent": {"name": "change_expiry"}},
        },
        {
            "event": "user",
            "text": "/EXTERNAL_handed_back",
            "timestamp": 4.0,
            "parse_data": {"intent": {"name": "EXTERNAL_handed_back"}},
        },
        {"event": "pause", "timestamp": 5.0},
        {
            "event": "bot",
            "text": "Labdien, te Anna",
            "metadata": {"agent": "Anna"},
            "timestamp": 6.0,
        },
    ]
    with session_scope(seeded_engine) as session:
        due = find_past_due(session, "cust-lv-owner")[0]
        attempts = handoff.payment_attempts(session, "cust-lv-owner")
    packet = build_packet(
        customer={"id": "cust-lv-owner", "name": "Līga Kalniņa"},
        language="lv",
        due=due,
        attempts=attempts,
        tried=["Chose to change the card's expiry date"],
        reason="payments_declined",
        transcript=transcript(events),
    )
    assert packet["past_due"] == {"amount": "€25.50", "due_date": due.due_date.isoformat()}
    assert packet["failing_card"] == {"brand": "Visa", "last4": "4242", "expiry": "03/2026"}
    assert packet["decline_reason"] == "expired_card"
    assert packet["subscription"] == "Microsoft 365 Business Standard"
    assert packet["escalation"] == "The payment was declined twice."
    assert packet["tried"][0] == "Chose to change the card's expiry date"
    assert "Visa ending 4242: declined (expired_card)" in packet["tried"][1]
    lines = [(line["role"], line["text"], line["name"]) for line in packet["transcript"]]
    assert lines == [
        ("customer", "Mana karte •••• •••• •••• ••••", None),
        ("bot", "Nerakstiet kartes numuru sarunā.", None),
        ("customer", "[button] Change the expiry date", None),
        ("event", "Handed to a person", None),
        ("agent", "Labdien, te Anna", "Anna"),
    ]
    assert "4242 4242" not in str(packet)


def test_ticket_view_shows_the_holder_and_position(seeded_engine: Engine) -> None:
    (anna,) = _agents(seeded_engine, "anna")
    queued = _open(seeded_engine, "conv-1", "cust-lv-owner")
    with session_scope(seeded_engine) as session:
        waiting = handoff.ticket_view(session, handoff.get_ticket(session, queued.ticket_id))
        handoff.claim(session, queued.ticket_id, anna)
        active = handoff.ticket_view(session, handoff.get_ticket(session, queued.ticket_id), anna)
    assert (waiting["status"], waiting["queue_position"], waiting["agent"]) == ("waiting", 1, None)
    assert active["status"] == "active" and active["queue_position"] is None
    assert active["agent"] == {"username": "anna", "display_name": "anna"} and active["mine"]
    assert active["reason_text"] == "The customer asked for a person."
