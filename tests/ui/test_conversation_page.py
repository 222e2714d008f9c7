"""Conversation page under AppTest: thread, author card, triage, composer, claims, notes."""

from __future__ import annotations

from deskapp import app, plain
from deskfactory import add_mention
from sqlalchemy import Engine, select

from desk.claims import active_claim, claim
from desk.config import get_settings
from desk.connectors.registry import build_connectors
from desk.demo import seed_demo
from desk.incidents import open_incident
from desk.ingest import pull_all
from desk.notes import notes_for
from desk.store.engine import transaction
from desk.store.schema import MentionRow, Reply, TriageRow
from desk.team import add_member
from desk.templates import save_template


def opened(mention_id: int, agent: str = "Ana"):  # type: ignore[no-untyped-def]
    """The app as ``agent`` after clicking Open on ``mention_id`` in the queue."""
    at = app(agent=agent)
    at.run()
    at.button(key=f"desk.queue.open.{mention_id}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Conversation"
    return at


def test_thread_author_and_triage_explanation(desk_engine: Engine) -> None:
    parent = add_mention(
        desk_engine, "We are investigating.", handle="desk", external_id="p1", is_own=True, sentiment=None
    )
    earlier = add_mention(
        desk_engine, "first complaint", handle="sam", name="Sam \u202eSpoof", followers=4321
    )
    this = add_mention(
        desk_engine,
        "still broken?!",
        handle="sam",
        parent_external_id="p1",
        question=True,
        anger=0.8,
        priority=77,
    )
    at = opened(this)
    texts = [t.value for t in at.text]
    assert texts[:3] == ["We are investigating.", "first complaint", "still broken?!"]
    markdown = " ".join(m.value for m in at.markdown)
    assert "Original post" in markdown and "**This mention**" in markdown
    assert "Name: Sam ⟨U\\+202E⟩Spoof" in markdown and "Followers: 4,321 · mentions stored: 2" in markdown
    assert [m.value for m in at.metric][:2] == ["77", "80%"]
    assert any("Because: angry (anger 80%)" in c.value and "asks a question" in c.value for c in at.caption)
    _ = (parent, earlier)


def test_template_fills_draft_counts_and_previews(desk_engine: Engine) -> None:
    open_incident(desk_engine, "DNS outage", status_url="https://status.example/dns", eta=None)
    save_template(
        desk_engine, name="Ack", body="Hi {first_name} ({handle}), {incident_title}: {status_url} — ETA {eta}"
    )
    m = add_mention(desk_engine, "down?", handle="ana_c", name="Ana Customer")
    at = opened(m)
    at.selectbox(key="desk.template." + str(m)).select_index(0).run()
    draft = at.text_area(key=f"draft-{m}").value
    assert draft == "Hi Ana (@ana_c), DNS outage: https://status.example/dns — ETA {eta}"
    # "Hi Ana (@ana_c), DNS outage: " = 29, the URL 23, " — ETA {eta}" = 12
    assert any(c.value.startswith("64 / 280 characters") for c in at.caption)
    assert any("Fill in before sending: {eta}" in plain(w.value) for w in at.warning)
    at.button(key="desk.conv.send").click().run()
    assert any(
        "still contains {eta}" in plain(e.value) and "draft is kept" in plain(e.value) for e in at.error
    )
    assert at.text_area(key=f"draft-{m}").value == draft


def test_draft_survives_refresh_and_page_switches(desk_engine: Engine) -> None:
    m = add_mention(desk_engine, "hello?", handle="h")
    other = add_mention(desk_engine, "another", handle="o")
    at = opened(m)
    at.text_area(key=f"draft-{m}").input("half-written reply").run()
    at.run()  # what an auto-refresh does
    assert at.text_area(key=f"draft-{m}").value == "half-written reply"
    at.session_state["desk.mention_id"] = other  # look at another mention: this composer is not rendered
    at.run()
    assert not [t for t in at.text_area if t.key == f"draft-{m}"]
    at.session_state["desk.mention_id"] = m
    at.run()
    assert at.text_area(key=f"draft-{m}").value == "half-written reply"


def test_send_through_the_sandbox_records_the_reply(sandbox_desk) -> None:  # type: ignore[no-untyped-def]
    engine, nets = sandbox_desk
    seed_demo(engine)
    nets.x.add_user("42", "caro", "Caro Line", followers_count=7)
    tweet = nets.x.add_tweet(f"@{nets.x.desk_username} no dial tone since 9am", "42")
    pull_all(engine, build_connectors(get_settings()), sleep=lambda _s: None)
    with transaction(engine) as s:
        mention_id = s.scalars(select(MentionRow.id).where(MentionRow.external_id == str(tweet["id"]))).one()
    at = opened(mention_id)
    at.text_area(key=f"draft-{mention_id}").input("Hi Caro, sorry! We are fixing DNS now.").run()
    at.button(key="desk.conv.send").click().run()
    assert not at.exception
    assert "Reply sent." in [plain(s.value) for s in at.success]
    assert any("Answered by Ana" in plain(s.value) for s in at.success)
    assert [p["text"] for p in nets.x.posted] == ["Hi Caro, sorry! We are fixing DNS now."]
    with transaction(engine) as s:
        reply = s.scalars(select(Reply)).one()
        assert (reply.status, reply.agent, reply.external_id) == ("sent", "Ana", nets.x.posted[0]["id"])


def test_failed_send_shows_reason_and_keeps_draft(sandbox_desk) -> None:  # type: ignore[no-untyped-def]
    engine, nets = sandbox_desk
    nets.x.add_user("43", "dee", "Dee", followers_count=7)
    nets.x.add_tweet(f"@{nets.x.desk_username} hello?", "43")
    pull_all(engine, build_connectors(get_settings()), sleep=lambda _s: None)
    with transaction(engine) as s:
        mention_id = s.scalars(select(MentionRow.id)).one()
    nets.x.faults.inject("usage_capped", path="/2/tweets")
    at = opened(mention_id)
    at.text_area(key=f"draft-{mention_id}").input("We're on it.").run()
    at.button(key="desk.conv.send").click().run()
    errors = [plain(e.value) for e in at.error]
    assert any(e.startswith("Not sent — X") and "draft is kept" in e for e in errors), errors
    assert at.text_area(key=f"draft-{mention_id}").value == "We're on it."
    assert nets.x.posted == []
    assert active_claim(engine, mention_id).agent == "Ana"  # type: ignore[union-attr]


def test_someone_elses_claim_locks_the_composer_and_a_lead_takes_over(desk_engine: Engine) -> None:
    add_member(desk_engine, "Lee", "lead")
    m = add_mention(desk_engine, "help", handle="h")
    claim(desk_engine, m, "Ben")
    at = opened(m, agent="Ana")
    assert "Ben is replying to this mention; you cannot send to it." in [plain(w.value) for w in at.warning]
    assert not [b for b in at.button if b.key == "desk.conv.send"]
    assert not [b for b in at.button if b.key == "desk.conv.take_over"]
    lead = opened(m, agent="Lee")
    lead.button(key="desk.conv.take_over").click().run()
    assert active_claim(desk_engine, m).agent == "Lee"  # type: ignore[union-attr]
    assert [b for b in lead.button if b.key == "desk.conv.send"]


def test_notes_done_and_triage_correction(desk_engine: Engine) -> None:
    m = add_mention(desk_engine, "meh", handle="h", sentiment="negative", anger=0.1)
    at = opened(m)
    at.text_area[1].input("Customer is a reseller; escalate.")
    at.button[[b.label for b in at.button].index("Add note")].click().run()
    assert [n.text for n in notes_for(desk_engine, m)] == ["Customer is a reseller; escalate."]
    assert "Customer is a reseller; escalate." in [t.value for t in at.text]
    next(b for b in at.selectbox if b.label == "Sentiment").select("positive")
    at.button[[b.label for b in at.button].index("Save correction")].click().run()
    with transaction(desk_engine) as s:
        row = s.get(TriageRow, m)
        assert row is not None and row.sentiment == "positive" and row.corrected
    at.button(key="desk.conv.done").click().run()
    with transaction(desk_engine) as s:
        mention = s.get(MentionRow, m)
        assert mention is not None and (mention.status, mention.handled_by) == ("closed", "Ana")
    assert any("Closed without reply by Ana" in i.value for i in at.info)


def test_names_in_messages_are_escaped(desk_engine: Engine) -> None:
    m = add_mention(desk_engine, "help", handle="h")
    claim(desk_engine, m, "Eve :red[boss] [x](javascript:alert(1))")
    at = opened(m, agent="Ana")
    warning = next(w.value for w in at.warning if "is replying" in w.value)
    assert warning.startswith("Eve \\:red\\[boss\\] \\[x\\]\\(javascript\\:alert\\(1\\)\\) is replying")
    assert (
        plain(warning)
        == "Eve :red[boss] [x](javascript:alert(1)) is replying to this mention; you cannot send to it."
    )
