"""decide.py: which entries to fetch, and when to poll next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.decide import (
    MAX_BACKOFF,
    EntryRecord,
    article_date,
    due,
    given_up,
    last_chance,
    next_poll,
    plan_entries,
    retry_due,
)
from scraper.types import Entry

NOW = datetime(2021, 11, 22, 4, 48, 56, tzinfo=UTC)


def entry(n: int, *, guid: str | None = None) -> Entry:
    link = f"https://x.example/story{n}"
    return Entry(id=guid or link, link=link, title=f"t{n}")


def record(e: Entry, status: str = "seen", attempts: int = 0) -> EntryRecord:
    return EntryRecord("src", e.id, e.link, status, attempts, NOW)  # type: ignore[arg-type]


def test_new_entries_are_fetched_in_feed_order() -> None:
    entries = [entry(3), entry(1), entry(2)]
    plan = plan_entries(entries, {}, {}, max_attempts=5, max_new=10)
    assert plan.fetch == tuple(entries)
    assert plan.known == plan.gave_up == plan.deferred == ()
    assert plan.recovered == ()


def test_done_failed_seen_and_gave_up() -> None:
    done, failed, seen, dead, fresh = (entry(i) for i in range(5))
    records = {
        done.id: record(done, "done"),
        failed.id: record(failed, "failed", attempts=4),
        seen.id: record(seen, "seen"),
        dead.id: record(dead, "failed", attempts=5),
    }
    plan = plan_entries([done, failed, seen, dead, fresh], records, {}, max_attempts=5, max_new=10)
    assert plan.fetch == (failed, seen, fresh)
    assert plan.known == (done,)
    assert plan.gave_up == (dead,)
    assert plan.recovered == ()


def test_archived_but_not_done_is_recovered() -> None:
    archived, done_and_archived, failed_often = entry(1), entry(2), entry(3)
    records = {
        done_and_archived.id: record(done_and_archived, "done"),
        failed_often.id: record(failed_often, "failed", attempts=9),
    }
    urls = {archived.link: "_posts/a.md", done_and_archived.link: "_posts/b.md"}
    urls[failed_often.link] = "_posts/c.md"
    plan = plan_entries(
        [archived, done_and_archived, failed_often], records, urls, max_attempts=5, max_new=10
    )
    assert plan.known == (archived, done_and_archived, failed_often)
    assert plan.recovered == ((archived, "_posts/a.md"), (failed_often, "_posts/c.md"))
    assert plan.fetch == plan.gave_up == ()


def test_recovered_carries_the_relpath_from_a_mapping() -> None:
    e = entry(1)
    plan = plan_entries([e], {}, {e.link: "_posts/a.md"}, max_attempts=5, max_new=10)
    assert plan.recovered == ((e, "_posts/a.md"),)


def test_a_guid_that_is_the_archived_url_counts() -> None:
    e = Entry(id="https://old.example/guid-url", link="https://x.example/new-link")
    archived = {"https://old.example/guid-url": "_posts/old.md"}
    plan = plan_entries([e], {}, archived, max_attempts=5, max_new=10)
    assert plan.recovered == ((e, "_posts/old.md"),)
    opaque = Entry(id="tag:x,2021:1", link="https://x.example/a")
    plan = plan_entries([opaque], {}, {"tag:x,2021:1": "_posts/x.md"}, max_attempts=5, max_new=10)
    assert plan.fetch == (opaque,)


def test_max_new_defers_the_rest() -> None:
    entries = [entry(i) for i in range(5)]
    records = {entries[0].id: record(entries[0], "done")}
    plan = plan_entries(entries, records, {}, max_attempts=5, max_new=2)
    assert plan.fetch == (entries[1], entries[2])
    assert plan.deferred == (entries[3], entries[4])


def test_repeated_ids_count_once() -> None:
    e = entry(1)
    plan = plan_entries([e, e, entry(2, guid=e.id)], {}, {}, max_attempts=5, max_new=10)
    assert plan.fetch == (e,)


@given(
    st.lists(st.integers(0, 20), max_size=30),
    st.dictionaries(
        st.integers(0, 20),
        st.tuples(st.sampled_from(["seen", "done", "failed"]), st.integers(0, 8)),
    ),
    st.sets(st.integers(0, 20)),
    st.integers(1, 6),
    st.integers(1, 10),
)
def test_every_entry_lands_in_exactly_one_place(
    ns: list[int],
    statuses: dict[int, tuple[str, int]],
    archived: set[int],
    max_attempts: int,
    max_new: int,
) -> None:
    entries = [entry(n) for n in ns]
    records = {entry(n).id: record(entry(n), s, a) for n, (s, a) in statuses.items()}
    urls = {entry(n).link: f"_posts/{n}.md" for n in archived}
    plan = plan_entries(entries, records, urls, max_attempts=max_attempts, max_new=max_new)
    placed = [*plan.fetch, *plan.known, *plan.gave_up, *plan.deferred]
    assert sorted(e.id for e in placed) == sorted({e.id for e in entries})
    assert len(plan.fetch) <= max_new
    unique = list(dict.fromkeys(entries))
    assert [e for e in unique if e in plan.fetch] == list(plan.fetch)  # feed order
    for e in plan.fetch:
        r = records.get(e.id)
        assert e.link not in urls and (
            r is None or (r.status != "done" and r.attempts < max_attempts)
        )
    for e, _ in plan.recovered:
        assert e in plan.known and records.get(e.id, record(e)).status != "done"


def test_next_poll_backs_off_and_caps() -> None:
    middle = 0.5  # no jitter
    assert next_poll(NOW, 600, 0, jitter=middle) == NOW + timedelta(seconds=600)
    assert next_poll(NOW, 600, 1, jitter=middle) == NOW + timedelta(seconds=1200)
    assert next_poll(NOW, 600, 3, jitter=middle) == NOW + timedelta(seconds=4800)
    assert next_poll(NOW, 600, 10, jitter=middle) == NOW + timedelta(seconds=MAX_BACKOFF)
    assert next_poll(NOW, 600, 10_000, jitter=middle) == NOW + timedelta(hours=6)
    # an interval longer than the cap is never shortened by it
    assert next_poll(NOW, 86400, 4, jitter=middle) == NOW + timedelta(days=1)


def test_jitter_spreads_ten_percent() -> None:
    assert next_poll(NOW, 1000, 0, jitter=0.0) == NOW + timedelta(seconds=900)
    assert next_poll(NOW, 1000, 0, jitter=0.75) == NOW + timedelta(seconds=1050)
    assert next_poll(NOW, 1000, 0, jitter=0.999999) < NOW + timedelta(seconds=1100)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="jitter"):
            next_poll(NOW, 1000, 0, jitter=bad)
    with pytest.raises(ValueError, match="interval"):
        next_poll(NOW, 0, 0, jitter=0.5)


def test_article_date() -> None:
    published = datetime(2021, 11, 22, 10, 57, tzinfo=UTC)
    fetched = datetime(2021, 11, 22, 4, 48, 56, 819000, tzinfo=UTC)
    assert article_date(published, fetched) == fetched  # a feed's future date
    assert article_date(fetched - timedelta(hours=1), fetched) == fetched - timedelta(hours=1)
    assert article_date(None, fetched) == fetched


def failed(e: Entry, attempts: int, last_try: datetime) -> EntryRecord:
    return EntryRecord("src", e.id, e.link, "failed", attempts, NOW, last_try=last_try)


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [(1, timedelta(0)), (2, timedelta(minutes=30)), (3, timedelta(hours=2)),
     (4, timedelta(hours=6)), (5, timedelta(hours=12)), (9, timedelta(hours=12))],
)  # fmt: skip
def test_a_failed_entry_waits_longer_after_each_try(attempts: int, wait: timedelta) -> None:
    e = entry(1)
    assert retry_due(failed(e, attempts, NOW), NOW + wait)
    if wait:
        assert not retry_due(failed(e, attempts, NOW), NOW + wait - timedelta(seconds=1))
    assert retry_due(record(e), NOW)  # never tried: due
    assert retry_due(EntryRecord("src", e.id, e.link, "failed", attempts, NOW), NOW)  # no time


def test_failed_entries_not_due_wait_and_the_rest_go_on() -> None:
    fresh, due, early, spent = entry(1), entry(2), entry(3), entry(4)
    records = {
        due.id: failed(due, 2, NOW - timedelta(minutes=31)),
        early.id: failed(early, 2, NOW - timedelta(minutes=5)),
        spent.id: failed(spent, 5, NOW - timedelta(days=9)),
    }
    entries = [fresh, due, early, spent]
    plan = plan_entries(entries, records, {}, max_attempts=5, max_new=10, now=NOW)
    assert plan.fetch == (fresh, due)
    assert plan.waiting == (early,)
    assert plan.gave_up == (spent,)
    # without a time, every failed entry with tries left is due (as before)
    plan = plan_entries(entries, records, {}, max_attempts=5, max_new=10)
    assert plan.fetch == (fresh, due, early) and plan.waiting == ()


def test_the_one_home_of_given_up_last_chance_and_due() -> None:
    assert not given_up(4, 5) and given_up(5, 5) and given_up(9, 5)
    assert last_chance(4, 5) and not last_chance(3, 5)
    assert last_chance(0, 5, permanent=True)
    assert due(None, NOW) and due(NOW, NOW) and not due(NOW + timedelta(seconds=1), NOW)
    assert due(NOW + timedelta(seconds=30), NOW, slack=timedelta(minutes=1))
