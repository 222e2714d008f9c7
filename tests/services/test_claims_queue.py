from __future__ import annotations

from datetime import timedelta

import pytest
from deskfactory import NOW, add_mention
from sqlalchemy import Engine

from desk.claims import (
    CLAIM_IDLE,
    ClaimedByOther,
    active_claim,
    claim,
    expire_idle_claims,
    release,
    take_over,
    touch,
)
from desk.errors import Fatal
from desk.incidents import current_incident, open_incident, resolve_incident, update_incident
from desk.notes import add_note, notes_for
from desk.queue import QueueFilter, list_queue, next_mention, saved_view
from desk.store.engine import transaction
from desk.store.schema import MentionRow
from desk.team import add_member, clean_name, is_lead, list_members, set_member


def status_of(engine: Engine, mention_id: int) -> str:
    with transaction(engine) as s:
        row = s.get(MentionRow, mention_id)
        assert row is not None
        return row.status


def test_claim_blocks_others_until_idle_then_lapses(engine: Engine) -> None:
    m = add_mention(engine)
    claim(engine, m, "Ana", now=NOW)
    assert status_of(engine, m) == "claimed"
    with pytest.raises(ClaimedByOther, match="Ana is replying"):
        claim(engine, m, "Ben", now=NOW + timedelta(minutes=1))
    assert touch(engine, m, "Ana", now=NOW + timedelta(minutes=5))
    assert not touch(engine, m, "Ben", now=NOW + timedelta(minutes=5))
    with pytest.raises(ClaimedByOther):
        claim(engine, m, "Ben", now=NOW + timedelta(minutes=5) + CLAIM_IDLE - timedelta(seconds=1))
    later = NOW + timedelta(minutes=5) + CLAIM_IDLE + timedelta(seconds=1)
    assert active_claim(engine, m, now=later) is None
    assert expire_idle_claims(engine, now=later) == 1
    assert status_of(engine, m) == "new"
    assert claim(engine, m, "Ben", now=later).agent == "Ben"


def test_release_and_lead_take_over(engine: Engine) -> None:
    add_member(engine, "Lee", "lead")
    add_member(engine, "Ben")
    m = add_mention(engine)
    claim(engine, m, "Ana", now=NOW)
    with pytest.raises(Fatal, match="only they or a lead"):
        release(engine, m, "Ben", now=NOW)
    with pytest.raises(Fatal, match="Only a lead"):
        take_over(engine, m, "Ben", now=NOW)
    assert take_over(engine, m, "Lee", now=NOW).agent == "Lee"
    release(engine, m, "Lee", now=NOW)
    assert active_claim(engine, m, now=NOW) is None
    assert status_of(engine, m) == "new"


def test_claim_refuses_handled_mentions(engine: Engine) -> None:
    m = add_mention(engine, status="replied")
    with pytest.raises(Fatal, match="already answered"):
        claim(engine, m, "Ana", now=NOW)


def test_queue_orders_by_priority_and_filters_in_sql(engine: Engine) -> None:
    low = add_mention(engine, "meh", priority=0.1, handle="a")
    high = add_mention(engine, "WHY IS IT DOWN?", priority=0.9, anger=0.9, question=True, handle="b")
    fb = add_mention(engine, "page down", platform="facebook", priority=0.5, handle=None, name="Fay Book")
    untriaged = add_mention(engine, "new one", sentiment=None, handle="c")
    done = add_mention(engine, "thanks", status="replied", sentiment="positive", handle="d")
    page = list_queue(engine, now=NOW)
    assert [r.mention_id for r in page.rows] == [high, fb, low, untriaged]
    assert page.total == 4
    assert [r.mention_id for r in list_queue(engine, QueueFilter(platforms=("facebook",)), now=NOW).rows] == [
        fb
    ]
    angry_q = list_queue(engine, saved_view("Angry questions").filter, now=NOW).rows
    assert [r.mention_id for r in angry_q] == [high]
    assert [r.mention_id for r in list_queue(engine, QueueFilter(search="DOWN"), now=NOW).rows] == [high, fb]
    assert [r.mention_id for r in list_queue(engine, QueueFilter(author="fay"), now=NOW).rows] == [fb]
    assert [r.mention_id for r in list_queue(engine, QueueFilter(statuses=("replied",)), now=NOW).rows] == [
        done
    ]
    assert list_queue(engine, QueueFilter(search="100%_"), now=NOW).total == 0  # wildcards are literal
    old = add_mention(engine, "old", created_at=NOW - timedelta(hours=1), priority=0.0, handle="e")
    assert [
        r.mention_id for r in list_queue(engine, saved_view("Unanswered > 30 min").filter, now=NOW).rows
    ] == [old]


def test_queue_pages_and_shows_claims(engine: Engine) -> None:
    ids = [add_mention(engine, f"m{i}", priority=i / 100, handle=f"h{i}") for i in range(25)]
    first = list_queue(engine, page=1, page_size=10, now=NOW)
    third = list_queue(engine, page=3, page_size=10, now=NOW)
    assert first.pages == 3 and len(first.rows) == 10 and len(third.rows) == 5
    assert first.rows[0].mention_id == ids[-1] and third.rows[-1].mention_id == ids[0]
    assert list_queue(engine, page=99, page_size=10, now=NOW).page == 3
    claim(engine, ids[-1], "Ana", now=NOW)
    assert list_queue(engine, page=1, page_size=1, now=NOW).rows[0].claimed_by == "Ana"
    mine = list_queue(engine, QueueFilter(claimed_by="Ana"), now=NOW)
    assert [r.mention_id for r in mine.rows] == [ids[-1]]
    with pytest.raises(Fatal, match="Unknown platform"):
        list_queue(engine, QueueFilter(platforms=("myspace",)))


def test_next_mention_skips_what_others_hold(engine: Engine) -> None:
    a = add_mention(engine, "a", priority=0.9, handle="a")
    b = add_mention(engine, "b", priority=0.5, handle="b")
    claim(engine, a, "Ana", now=NOW)
    assert next_mention(engine, "Ben", now=NOW) == b
    assert next_mention(engine, "Ben", now=NOW, exclude=frozenset({b})) is None
    assert next_mention(engine, "Ana", now=NOW) == a  # own work first


def test_team_notes_incidents(engine: Engine) -> None:
    add_member(engine, "  Ana   Lopez ")
    add_member(engine, "Lee", "lead")
    assert [m.name for m in list_members(engine)] == ["Ana Lopez", "Lee"]
    assert is_lead(engine, "Lee") and not is_lead(engine, "Ana Lopez")
    set_member(engine, "Lee", active=False)
    assert not is_lead(engine, "Lee")
    with pytest.raises(Fatal):
        clean_name("a\u202eb")
    m = add_mention(engine)
    add_note(engine, m, "Ana Lopez", "called them back")
    assert [n.text for n in notes_for(engine, m)] == ["called them back"]
    with pytest.raises(Fatal, match="needs some text"):
        add_note(engine, m, "Ana", " ")
    assert current_incident(engine) is None
    inc = open_incident(engine, "DNS outage", status_url="https://status.example", eta="2h")
    update_incident(engine, inc.id, title="DNS outage", status_url="https://status.example/1", eta="1h")
    assert current_incident(engine).eta == "1h"  # type: ignore[union-attr]
    with pytest.raises(Fatal, match="http"):
        open_incident(engine, "x", status_url="javascript:alert(1)")
    resolve_incident(engine, inc.id)
    assert current_incident(engine) is None


def test_untriaged_follow_triaged_across_pages_and_count_is_capped(engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import desk.queue as queue_module

    triaged = [add_mention(engine, f"t{i}", priority=i, handle=f"t{i}") for i in range(3)]
    untriaged = [
        add_mention(
            engine, f"u{i}", sentiment=None, handle=f"u{i}", created_at=NOW - timedelta(minutes=10 - i)
        )
        for i in range(3)
    ]
    order = [r.mention_id for p in (1, 2, 3) for r in list_queue(engine, page=p, page_size=2, now=NOW).rows]
    assert order == triaged[::-1] + untriaged
    monkeypatch.setattr(queue_module, "COUNT_CAP", 4)
    capped = list_queue(engine, page=1, page_size=2, now=NOW)
    assert (capped.total, capped.total_exact, capped.pages) == (4, False, 2)


def test_conversation_thread_roles(engine: Engine) -> None:
    from desk.conversation import mention_detail

    add_mention(
        engine, "Our post", handle="desk", external_id="p9", is_own=True, sentiment=None, conversation_id="p9"
    )
    add_mention(engine, "me first", handle="sam", conversation_id="p9", created_at=NOW - timedelta(minutes=9))
    add_mention(
        engine, "someone else", handle="kim", conversation_id="p9", created_at=NOW - timedelta(minutes=8)
    )
    this = add_mention(
        engine,
        "me again",
        handle="sam",
        parent_external_id="p9",
        conversation_id="p9",
        created_at=NOW - timedelta(minutes=7),
    )
    detail = mention_detail(engine, this, now=NOW)
    roles = {item.text: item.role for item in detail.thread}
    assert roles == {
        "Our post": "parent",
        "me first": "earlier",
        "someone else": "conversation",
        "me again": "this",
    }
    assert detail.author is not None and detail.author.mentions_total == 2


def test_team_views_round_trip_and_refuse_builtin_names(engine: Engine) -> None:
    from desk.queue import all_views, delete_team_view, save_team_view

    flt = QueueFilter(platforms=("x",), angry_only=True, search="dns", waiting_minutes=15, claimed_by="Ana")
    save_team_view(engine, "  X   angry dns ", flt, "Ana")
    saved = saved_view("X angry dns", engine)
    assert saved.filter == QueueFilter(platforms=("x",), angry_only=True, search="dns", waiting_minutes=15)
    assert saved.description == "Saved by Ana."
    with pytest.raises(Fatal, match="built-in"):
        save_team_view(engine, "angry questions", flt, "Ana")
    assert [v.name for v in all_views(engine)][-1] == "X angry dns"
    delete_team_view(engine, "X angry dns")
    with pytest.raises(Fatal, match="no saved view"):
        saved_view("X angry dns", engine)


def test_thread_shows_the_same_name_on_the_other_platform(engine: Engine) -> None:
    from desk.conversation import mention_detail

    this = add_mention(engine, "on X", handle="fiona_f", name="Fiona Flores")
    add_mention(engine, "on Facebook", platform="facebook", handle=None, name="fiona flores")
    add_mention(engine, "a stranger", platform="facebook", handle=None, name="Fiona Flo")
    roles = {item.text: item.role for item in mention_detail(engine, this).thread}
    assert roles == {"on X": "this", "on Facebook": "elsewhere"}
