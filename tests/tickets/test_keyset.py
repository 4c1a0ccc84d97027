"""Keyset paging of the ticket list: "Next" and "Previous" follow signed cursors, for every
sort the list offers, with ties and NULLs, and give exactly the plain ORDER BY's rows (none
skipped, none twice); a tampered or malformed cursor is a 400, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core import signing
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import make_user
from tickets import access, keyset, listing, services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

PER_PAGE = 3
NEXT = re.compile(r'rel="next" href="\?([^"]*)"')
PREVIOUS = re.compile(r'rel="prev" href="\?([^"]*)"')


@pytest.fixture
def mixed(manager, queue_a, queue_b):
    """17 tickets in two queues with many ties: shared timestamps, priorities, subjects and
    assignees, no due date or no assignee on some, resolved and closed ones (no due date
    shown)."""
    people = [None, make_user("zed", "agent"), make_user("amy", "agent")]
    base = timezone.now().replace(microsecond=0)
    statuses = [Status.NEW, Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED]
    for i in range(17):
        ticket = services.ticket_create(
            actor=manager, queue=(queue_a, queue_b)[i % 2], subject=f"Subject {i % 4}"
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            updated_at=base - timedelta(minutes=i // 3),
            created_at=base - timedelta(hours=i % 5),
            priority=1 + i % 4,
            due_at=None if i % 3 == 0 else base + timedelta(hours=i % 2),
            status=statuses[i % 5],
            assignee=people[i % 3],
        )


def _expected(user, sort, **filters):
    qs = access.visible_tickets(user).filter(listing.filter_q(user, filters))
    return list(qs.order_by(*listing.order_by(sort)).values_list("id", flat=True))


def _page(client, query):
    with override_settings(TICKETS_PER_PAGE=PER_PAGE):
        response = client.get(f"/tickets/?{query}")
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    ids = [t.pk for t in response.context["page"].object_list]
    found_next, found_previous = NEXT.search(html), PREVIOUS.search(html)
    return (
        ids,
        unescape(found_next.group(1)) if found_next else None,
        unescape(found_previous.group(1)) if found_previous else None,
        response.context["page"].number,
    )


def _walk(client, start):
    """Every page from ``start`` by "Next", then from the last one back by "Previous": the
    ids of each page both ways, and the page numbers shown going forward."""
    forward, numbers, query, last = [], [], start, start
    while query:
        last = query
        ids, query, _, number = _page(client, query)
        forward.append(ids)
        numbers.append(number)
    backward, query = [], last
    while query:
        ids, _, query, _ = _page(client, query)
        backward.append(ids)
    return forward, backward[::-1], numbers


@pytest.mark.parametrize("sort", [name for name, _ in listing.sort_choices()])
def test_next_and_previous_walk_every_sort_without_skipping_or_repeating(
    manager_client, manager, mixed, sort
):
    expected = _expected(manager, sort, status="any")
    assert len(expected) == 17
    forward, backward, numbers = _walk(manager_client, f"status=any&sort={sort}")
    flat = [pk for ids in forward for pk in ids]
    assert flat == expected
    assert [len(ids) for ids in forward] == [3, 3, 3, 3, 3, 2]
    assert numbers == [1, 2, 3, 4, 5, 6]
    assert backward == forward


@pytest.mark.parametrize("sort", ["due", "-due", "assignee", "-assignee", "priority"])
def test_an_agent_walks_the_active_list_of_their_queue(agent_client, agent, mixed, sort):
    expected = _expected(agent, sort, status="active")
    forward, backward, _ = _walk(agent_client, f"sort={sort}")
    assert [pk for ids in forward for pk in ids] == expected
    assert backward == forward


def test_a_search_with_relevance_pages_by_cursor_too(manager_client, manager, queue_a):
    for i in range(7):
        services.ticket_create(actor=manager, queue=queue_a, subject=f"Printer {i}")
    for i in range(4):
        services.ticket_create(actor=manager, queue=queue_a, subject=f"Other {i}")
    first, next_query, _, _ = _page(manager_client, "q=printer")
    second, _, previous, _ = _page(manager_client, next_query)
    assert "after=" in next_query and not set(first) & set(second)
    back, _, _, number = _page(manager_client, previous)
    assert back == first and number == 1


def test_a_row_that_changes_between_pages_is_neither_lost_nor_shown_twice(
    manager_client, manager, queue_a
):
    for i in range(7):
        services.ticket_create(actor=manager, queue=queue_a, subject=f"Item {i}")
    first, next_query, _, _ = _page(manager_client, "sort=ref")
    # A new ticket arrives at the top: page 2 still starts right after page 1's last row.
    services.ticket_create(actor=manager, queue=queue_a, subject="Newcomer")
    second, _, _, _ = _page(manager_client, next_query)
    assert second[0] == first[-1] - 1


def test_a_deep_page_reads_no_offset_and_counts_no_further_than_the_cap(
    manager_client, manager, mixed
):
    _, next_query, _, _ = _page(manager_client, "status=any&sort=due")
    _, next_query, _, _ = _page(manager_client, next_query)
    with CaptureQueriesContext(connection) as queries:
        _page(manager_client, next_query)
    sql = [q["sql"] for q in queries.captured_queries if '"tickets_ticket"' in q["sql"]]
    assert sql and not any("OFFSET" in s for s in sql)


def test_the_live_list_keeps_the_cursor_page(manager_client, manager, mixed):
    ids, next_query, _, number = _page(manager_client, "status=any&sort=-due")
    ids, _, _, number = _page(manager_client, next_query)
    with override_settings(TICKETS_PER_PAGE=PER_PAGE):
        data = manager_client.get(f"/live/tickets.json?{next_query}").json()
    assert [row["id"] for row in data["rows"]] == ids
    assert data["page"] == number == 2


def _token(sort="updated", key=None, before=False, number=2):
    key = key if key is not None else (timezone.now(), 5)
    return keyset.Cursor(sort, key, before, number).token()


@pytest.mark.parametrize(
    "query",
    [
        "after=garbage",
        "before=%20",
        "after=" + "x" * 5000,
        "after=updated:5:2",  # not signed at all
        "after={tampered}",
        "after={other_sort}",
        "before={after_token}",
        "after={after_token}&before={before_token}",
        "after={short_key}",
        "after={bad_value}",
        "after={bad_number}",
    ],
)
def test_a_bad_cursor_is_a_400_on_the_page_and_the_live_list(manager_client, manager, mixed, query):
    after_token = _token()
    values = {
        "tampered": after_token[:-3] + ("AAA" if not after_token.endswith("AAA") else "BBB"),
        "other_sort": _token(sort="due", key=(None, 5)),
        "after_token": after_token,
        "before_token": _token(before=True),
        "short_key": signing.dumps(["updated", [["i", 5]], 0, 2], salt=keyset.SALT),
        "bad_value": signing.dumps(
            ["updated", [["d", "yesterday"], ["i", 5]], 0, 2], salt=keyset.SALT
        ),
        "bad_number": signing.dumps(["updated", [["i", 1], ["i", 5]], 0, -4], salt=keyset.SALT),
    }
    query = query.format(**values)
    page = manager_client.get(f"/tickets/?{query}")
    assert page.status_code == 400
    assert "This page link is not valid" in page.content.decode()
    live = manager_client.get(f"/live/tickets.json?{query}")
    assert live.status_code == 400 and "page" in live.json()["errors"]


def test_a_cursor_of_another_sort_in_the_url_is_refused(manager_client, mixed):
    _, next_query, _, _ = _page(manager_client, "status=any&sort=due")
    refused = manager_client.get("/tickets/?" + next_query.replace("sort=due", "sort=subject"))
    assert refused.status_code == 400


def test_sorting_by_a_column_drops_the_cursor(manager_client, mixed):
    _, next_query, _, _ = _page(manager_client, "status=any&sort=due")
    html = manager_client.get("/tickets/?" + next_query).content.decode()
    headers = re.findall(r'<th scope="col"[^>]*><a href="\?([^"]*)"', html)
    assert headers and not any("after=" in unescape(h) for h in headers)


def test_a_long_subject_in_the_key_still_makes_a_valid_cursor(manager_client, manager, queue_a):
    for i in range(5):
        services.ticket_create(actor=manager, queue=queue_a, subject="Ü€😀" * 66 + str(i))
    ids, next_query, _, _ = _page(manager_client, "sort=subject")
    following, _, _, _ = _page(manager_client, next_query)
    assert len(ids + following) == 5 == len(set(ids + following))
