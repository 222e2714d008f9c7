"""Analytics and Settings pages under AppTest."""

from __future__ import annotations

from datetime import timedelta

from deskapp import page, plain
from deskfactory import RecordingConnector, add_mention
from sqlalchemy import Engine

from desk.domain import Platform
from desk.incidents import current_incident, open_incident
from desk.replies import send_reply
from desk.store.engine import transaction
from desk.store.schema import Account, MetricSnapshot, SyncState
from desk.store.types import utcnow
from desk.team import add_member, list_members
from desk.templates import list_templates


def test_analytics_shows_response_times_charts_and_downloads(desk_engine: Engine) -> None:
    now = utcnow()
    open_incident(desk_engine, "DNS", started_at=now - timedelta(hours=2))
    conn = {Platform.X: RecordingConnector()}
    for minutes_ago, answer_after in [(90, 10), (60, 20), (30, 30)]:
        m = add_mention(
            desk_engine, "down", handle=f"h{minutes_ago}", created_at=now - timedelta(minutes=minutes_ago)
        )
        send_reply(
            desk_engine,
            conn,
            mention_id=m,
            agent="Ana",
            text="hi",
            idempotency_key=str(m),  # type: ignore[arg-type]
            now=now - timedelta(minutes=minutes_ago - answer_after),
        )
    add_mention(desk_engine, "still open", handle="open", created_at=now - timedelta(minutes=5))
    with transaction(desk_engine) as s:
        s.add(
            MetricSnapshot(
                platform="x",
                external_id="r1",
                item_kind="reply",
                name="impression_count",
                value=40,
                captured_at=now - timedelta(minutes=20),
            )
        )
    at = page("analytics")
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Open now"] == "1"
    assert metrics["Answered in window"] == "3"
    assert metrics["First response, median"].endswith("min")
    assert len(at.get("vega_lite_chart")) == 5
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download first responses (CSV)" in labels and "Download reach over time (CSV)" in labels
    at.segmented_control(key="desk.analytics.window").set_value("Last 7 days").run()
    assert not at.exception


def test_analytics_on_an_empty_desk_says_so(desk_engine: Engine) -> None:
    at = page("analytics")
    at.run()
    assert not at.exception
    assert "No mentions in this window." in [i.value for i in at.info]


def test_settings_shows_connector_problems_in_plain_words(desk_engine: Engine) -> None:
    with transaction(desk_engine) as s:
        s.add(
            Account(
                platform="facebook",
                external_id="123",
                name="Nimbus Page",
                status="needs_reauth",
                status_message="Error validating access token: Session has expired",
            )
        )
        s.add(
            SyncState(
                stream="facebook:comments:123",
                platform="facebook",
                state={},
                last_error="token expired",
                last_error_at=utcnow(),
                items_total=5,
            )
        )
    at = page("settings")
    at.run()
    assert not at.exception
    errors = [plain(e.value) for e in at.error]
    assert any("Facebook Account Nimbus Page: token expired or revoked — reconnect" in e for e in errors), (
        errors
    )
    assert "Error validating access token: Session has expired" in [t.value for t in at.text]


def test_settings_edits_incident_templates_and_team(desk_engine: Engine) -> None:
    at = page("settings")
    at.run()
    incident_form = at.tabs[1]
    incident_form.text_input[0].input("Calls failing")
    incident_form.text_input[1].input("javascript:alert(1)")
    incident_form.button[0].click().run()
    assert any("http:// or https://" in plain(e.value) for e in at.error)
    at.tabs[1].text_input[1].input("https://status.example")
    at.tabs[1].text_input[2].input("by 14:00 UTC")
    at.tabs[1].button[0].click().run()
    incident = current_incident(desk_engine)
    assert incident is not None and (incident.title, incident.eta) == ("Calls failing", "by 14:00 UTC")

    templates = at.tabs[2]
    templates.text_input[0].input("Sorry")
    templates.text_area[0].input("Sorry {firstname}")
    templates.button[0].click().run()
    assert any("{firstname}" in plain(e.value) and "does not know" in plain(e.value) for e in at.error)
    at.tabs[2].text_area[0].input("Sorry {first_name}, fix by {eta}")
    at.tabs[2].button[0].click().run()
    assert [t.body for t in list_templates(desk_engine)] == ["Sorry {first_name}, fix by {eta}"]

    add_member(desk_engine, "Ana")
    team = at.tabs[3]
    team.text_input[0].input("Lee")
    team.selectbox[0].select("lead")
    team.button[0].click().run()
    assert [(m.name, m.role) for m in list_members(desk_engine)] == [("Ana", "agent"), ("Lee", "lead")]
    assert not at.exception
