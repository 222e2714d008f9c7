"""Queue page under AppTest: what an agent sees, filters, saved views, paging, opening (claiming)."""

from __future__ import annotations

from datetime import timedelta

from deskapp import app, plain
from deskfactory import add_mention
from sqlalchemy import Engine

from desk.claims import active_claim, claim
from desk.store.types import utcnow


def cards(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.value for t in at.text]


def test_queue_shows_mentions_in_priority_order_as_plain_text(desk_engine: Engine) -> None:
    now = utcnow()
    add_mention(desk_engine, "calm note", priority=10, handle="calm", created_at=now - timedelta(minutes=3))
    add_mention(
        desk_engine,
        "WHY IS IT DOWN?",
        priority=90,
        anger=0.9,
        question=True,
        handle="loud",
        followers=120_000,
        created_at=now - timedelta(minutes=42),
    )
    add_mention(
        desk_engine,
        "<script>alert(1)</script> [x](javascript:alert(1)) \u202egnp.exe\u200b",
        priority=50,
        handle="\u202eevil",
        name="**Bold** <b>",
        created_at=now - timedelta(minutes=1),
    )
    at = app()
    at.run()
    assert not at.exception
    assert cards(at) == [
        "WHY IS IT DOWN?",
        "<script>alert(1)</script> [x](javascript:alert(1)) ⟨U+202E⟩gnp.exe⟨U+200B⟩",
        "calm note",
    ]
    header = at.markdown[0].value
    assert "@loud" in header and "120,000 followers" in header and "waiting 42 min" in header
    assert ":orange-badge[angry]" in header and ":blue-badge[question]" in header
    hostile_header = at.markdown[1].value
    assert "⟨U\\+202E⟩evil" in hostile_header and "\\*\\*Bold\\*\\* \\<b\\>" in hostile_header
    assert "3 mentions" in at.caption[1].value
    assert at.caption[0].value == "Open now: 𝕏 X 3 · f Facebook 0"


def test_filters_and_saved_views_narrow_the_queue(desk_engine: Engine) -> None:
    add_mention(desk_engine, "angry question?", priority=90, anger=0.9, question=True, handle="a")
    add_mention(desk_engine, "angry statement", priority=80, anger=0.9, handle="b")
    add_mention(desk_engine, "page down", platform="facebook", priority=70, handle=None, name="Fay")
    add_mention(desk_engine, "old one", priority=5, handle="c", created_at=utcnow() - timedelta(hours=2))
    at = app()
    at.run()
    at.text_input(key="desk.queue.search").input("statement").run()
    assert cards(at) == ["angry statement"]
    at.text_input(key="desk.queue.search").input("").run()
    at.multiselect(key="desk.queue.platforms").select("facebook").run()
    assert cards(at) == ["page down"]
    at.selectbox(key="desk.queue.view").select("Angry questions").run()
    assert cards(at) == ["angry question?"]
    at.selectbox(key="desk.queue.view").select("Unanswered > 30 min").run()
    assert cards(at) == ["old one"]
    at.text_input(key="desk.queue.author").input("fay").run()
    assert cards(at) == []
    assert "No mentions match these filters." in [i.value for i in at.info]
    assert not at.exception


def test_paging_happens_in_the_database(desk_engine: Engine) -> None:
    for i in range(25):
        add_mention(desk_engine, f"mention {i:02d}", priority=i, handle=f"h{i}")
    at = app()
    at.run()
    assert len(cards(at)) == 20 and cards(at)[0] == "mention 24"
    assert "page 1 of 2" in at.caption[1].value
    at.button(key="desk.queue.next_page").click().run()
    assert cards(at) == [f"mention {i:02d}" for i in range(4, -1, -1)]
    assert "page 2 of 2" in at.caption[1].value


def test_open_claims_and_shows_who_is_replying(desk_engine: Engine) -> None:
    mine = add_mention(desk_engine, "mine to answer", priority=90, handle="a")
    theirs = add_mention(desk_engine, "Ben has this", priority=50, handle="b")
    claim(desk_engine, theirs, "Ben")
    at = app()
    at.run()
    assert "Ben is replying" in at.markdown[1].value
    assert at.button(key=f"desk.queue.open.{theirs}").label == "View"
    at.button(key=f"desk.queue.open.{mine}").click().run()
    assert not at.exception
    assert at.title[0].value == "Conversation"
    assert active_claim(desk_engine, mine).agent == "Ana"  # type: ignore[union-attr]


def test_next_mention_skips_claimed_ones(desk_engine: Engine) -> None:
    held = add_mention(desk_engine, "held by Ben", priority=99, handle="a")
    free = add_mention(desk_engine, "free one", priority=10, handle="b")
    claim(desk_engine, held, "Ben")
    at = app()
    at.run()
    at.button(key="desk.queue.next").click().run()
    assert at.session_state["desk.mention_id"] == free
    assert active_claim(desk_engine, free).agent == "Ana"  # type: ignore[union-attr]


def test_an_agent_picks_a_name_once(desk_engine: Engine) -> None:
    add_mention(desk_engine, "hello")
    at = app(agent=None)
    at.run()
    assert any("Who is working?" in m.value for m in at.sidebar.markdown)
    at.sidebar.text_input[0].input("  Dana   Desk ")
    at.sidebar.button[0].click().run()
    assert at.session_state["desk.agent"] == "Dana Desk"
    assert any("Working as **Dana Desk**" in m.value for m in at.sidebar.markdown)
    assert at.query_params["agent"] == "Dana Desk"


def test_a_view_saved_by_one_agent_is_offered_to_the_team(desk_engine: Engine) -> None:
    add_mention(desk_engine, "fb thing", platform="facebook", priority=50, handle=None, name="Fay")
    add_mention(desk_engine, "x thing", priority=60, handle="x1")
    at = app(agent="Ana")
    at.run()
    at.multiselect(key="desk.queue.platforms").select("facebook").run()
    at.text_input(key="desk.queue.view_name").input("Facebook only").run()
    at.button(key="desk.queue.save_view").click().run()
    assert any("'Facebook only' saved" in plain(s.value) for s in at.success)
    ben = app(agent="Ben")
    ben.run()
    assert cards(ben) == ["x thing", "fb thing"]
    ben.selectbox(key="desk.queue.view").select("Facebook only").run()
    assert cards(ben) == ["fb thing"]
    ben.button(key="desk.queue.delete_view").click().run()
    assert "Facebook only" not in ben.selectbox(key="desk.queue.view").options
    assert not ben.exception


def test_an_unreachable_database_is_a_sentence_not_a_traceback(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from desk.config import get_settings

    monkeypatch.setenv(
        "DESK_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    )
    get_settings.cache_clear()
    at = app()
    at.run()
    assert not at.exception
    assert any("database did not answer properly" in plain(e.value) for e in at.error)


def test_a_wall_of_text_is_cut_in_the_queue(desk_engine: Engine) -> None:
    add_mention(desk_engine, "x" * 20_000, handle="wall")
    at = app()
    at.run()
    shown = cards(at)[0]
    assert len(shown) < 700 and shown.endswith("… (open it for the full text)")
