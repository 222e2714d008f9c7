"""Property tests: queue paging shows every open mention exactly once, in priority order."""

from __future__ import annotations

from datetime import timedelta

from deskfactory import NOW, add_mention
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from desk.queue import list_queue
from desk.store.engine import transaction
from desk.store.schema import AuthorRow, MentionRow, TriageRow
from desk.templates import x_weighted_length

mention = st.tuples(
    st.one_of(
        st.none(), st.floats(min_value=0, max_value=100, allow_nan=False)
    ),  # priority; None = untriaged
    st.sampled_from(["new", "claimed", "replied", "closed"]),
    st.integers(min_value=0, max_value=600),  # minutes old
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mentions=st.lists(mention, max_size=30), page_size=st.integers(min_value=1, max_value=7))
def test_paging_is_a_partition_in_priority_order(sqlite_engine: Engine, mentions, page_size: int) -> None:  # type: ignore[no-untyped-def]
    with transaction(sqlite_engine) as s:
        s.execute(delete(TriageRow))
        s.execute(delete(MentionRow))
        s.execute(delete(AuthorRow))
    expected_triaged, expected_untriaged = [], []
    for n, (priority, status, age) in enumerate(mentions):
        created = NOW - timedelta(minutes=age)
        mid = add_mention(
            sqlite_engine,
            f"m{n}",
            handle=f"h{n}",
            status=status,
            created_at=created,
            sentiment=None if priority is None else "neutral",
            priority=priority,
        )
        if status in ("new", "claimed"):
            if priority is None:
                expected_untriaged.append((created, mid))
            else:
                expected_triaged.append((priority, mid))
    expected = [mid for _, mid in sorted(expected_triaged, key=lambda t: (-t[0], -t[1]))]
    expected += [mid for _, mid in sorted(expected_untriaged)]
    first = list_queue(sqlite_engine, page_size=page_size, now=NOW)
    seen = [
        r.mention_id
        for p in range(1, first.pages + 1)
        for r in list_queue(sqlite_engine, page=p, page_size=page_size, now=NOW).rows
    ]
    assert first.total == len(expected)
    assert seen == expected


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,!?ABC", max_size=400))
def test_plain_latin_text_counts_one_per_character(text: str) -> None:
    assert x_weighted_length(text) == len(text)


@given(st.text(alphabet="日本語中文한국어かなカナ", max_size=200))
def test_cjk_counts_two_per_character(text: str) -> None:
    assert x_weighted_length(text) == 2 * len(text)
