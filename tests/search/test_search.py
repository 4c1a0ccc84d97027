"""Search inside encrypted tickets: the blind token index, its queries and what it stores."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.helpers import PNG, upload
from tickets import search, services
from tickets.actors import SystemActor
from tickets.models import Comment, Contact, Ticket
from tickets.search import query
from tickets.search.models import SearchToken
from tickets.search.text import terms
from tickets.search.tokens import internal_term, tokens

pytestmark = pytest.mark.django_db
OTHER_KEY = "b3RoZXItc2VhcmNoLWluZGV4LWtleS1mb3ItdGVzdHM="


def _stored_tokens() -> set[int]:
    return {t for row in SearchToken.objects.values_list("tokens", flat=True) for t in row}


def _refs(client, q: str, **params) -> list[str]:
    response = client.get("/tickets/", {"q": q, **params})
    assert response.status_code == 200, response.content[:300]
    return [t.reference for t in response.context["page"].object_list]


@pytest.fixture
def laptop(agent, queue_a):
    return services.ticket_create_for_requester(
        actor=agent,
        queue=queue_a,
        subject="Laptop will not boot",
        description="My ThinkPad shows a blinking cursor after the BIOS screen.",
        contact_email="Erika.Mustermann@example.org",
        contact_name="Jörg Müller",
    )


def test_a_word_only_in_the_description_finds_the_ticket(agent_client, laptop, ticket_a):
    assert _refs(agent_client, "thinkpad") == [laptop.reference]
    assert _refs(agent_client, "ThinkPad blinking") == [laptop.reference]
    assert _refs(agent_client, "thinkpad toner") == []  # words are ANDed


def test_a_word_in_a_reply_or_an_internal_note_finds_it(agent, agent_client, laptop):
    services.comment_add(actor=agent, ticket=laptop, body="Lowered the MTU to 1400.")
    services.comment_add(actor=agent, ticket=laptop, body="Vendor case 4711", is_internal=True)
    assert _refs(agent_client, "mtu") == [laptop.reference]
    assert _refs(agent_client, "vendor") == [laptop.reference]


def test_an_internal_note_is_found_only_by_who_may_see_the_ticket(agent, agent_b, laptop, client):
    from tests.conftest import login

    services.comment_add(actor=agent, ticket=laptop, body="Secret workaround", is_internal=True)
    assert _refs(login(client, agent_b), "workaround") == []
    assert _refs(login(client, agent_b), "thinkpad") == []


def test_the_requesters_name_matches_with_and_without_umlauts(agent_client, laptop):
    for spelling in ("Müller", "Mueller", "muller", "MÜLLER", "Jorg", "Joerg"):
        assert _refs(agent_client, spelling) == [laptop.reference], spelling


def test_an_email_address_matches_exactly(agent_client, laptop):
    assert _refs(agent_client, "erika.mustermann@example.org") == [laptop.reference]
    assert _refs(agent_client, "mustermann") == [laptop.reference]
    assert _refs(agent_client, "erika.mustermann@example.com") == []


def test_a_file_name_finds_the_ticket(agent, agent_client, laptop):
    services.attachment_add(actor=agent, ticket=laptop, upload=upload("bios-photo.png", PNG))
    assert _refs(agent_client, "bios-photo.png") == [laptop.reference]


def test_a_prefix_and_a_phrase(agent_client, laptop, agent, queue_a):
    other = services.ticket_create(
        actor=agent, queue=queue_a, subject="Cursor", description="screen after blinking"
    )
    assert _refs(agent_client, "think*") == [laptop.reference]
    assert _refs(agent_client, "thinkpa*") == [laptop.reference]  # longer than the index keeps
    assert set(_refs(agent_client, "blinking screen")) == {laptop.reference, other.reference}
    assert _refs(agent_client, '"blinking cursor"') == [laptop.reference]


def test_subject_matches_rank_first(agent, agent_client, queue_a, laptop):
    subject_hit = services.ticket_create(actor=agent, queue=queue_a, subject="Cursor frozen")
    newer = services.ticket_create(actor=agent, queue=queue_a, subject="x", description="cursor")
    assert _refs(agent_client, "cursor") == [
        subject_hit.reference,
        newer.reference,
        laptop.reference,
    ]


def test_the_snippet_highlights_the_word_escaped(agent, agent_client, laptop):
    services.comment_add(actor=agent, ticket=laptop, body="<b>the MTU</b> was wrong")
    html = agent_client.get("/tickets/", {"q": "mtu"}).content.decode()
    assert "&lt;b&gt;the <mark>MTU</mark>&lt;/b&gt; was wrong" in html


def test_no_token_is_a_word_or_its_unkeyed_hash(laptop, agent):
    services.comment_add(actor=agent, ticket=laptop, body="Lowered the MTU to 1400.")
    corpus = "Laptop will not boot My ThinkPad shows a blinking cursor after the BIOS screen " + (
        "Erika.Mustermann@example.org Jörg Müller Lowered the MTU to 1400"
    )
    forbidden: set[bytes] = set()
    for word in re.findall(r"\S+", corpus) + [t[2:] for t in terms(corpus)] + list(terms(corpus)):
        for form in {word, word.lower(), word.casefold()}:
            data = form.encode()
            hashes = {data, hashlib.sha256(data).digest(), hashlib.md5(data).digest()}  # noqa: S324
            forbidden |= {part for h in hashes for part in (h[:4], h[-4:])}
    stored = [v.to_bytes(4, "big", signed=True) for v in _stored_tokens()]
    assert stored
    assert not [v for v in stored if v in forbidden]
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(tokens::text, ' ') FROM tickets_searchtoken")
        dump = cursor.fetchone()[0].lower()
    assert "thinkpad" not in dump and "muller" not in dump


def test_erasure_removes_the_persons_tokens(agent_client, laptop, manager):
    contact = Contact.objects.get(pk=laptop.contact_id)
    services.person_erase(actor=manager, contact=contact)
    assert _refs(agent_client, "mustermann") == []
    assert _refs(agent_client, "muller") == []
    assert _refs(agent_client, "thinkpad") == [laptop.reference]  # the ticket itself remains


def test_purging_a_ticket_removes_all_its_tokens(laptop):
    services.ticket_anonymise(actor=SystemActor("purge"), ticket=laptop)
    assert not SearchToken.objects.filter(ticket=laptop).exists()


def test_reindex_after_a_key_change_keeps_every_search_working(agent_client, laptop):
    before = _stored_tokens()
    with override_settings(SEARCH_INDEX_KEY=OTHER_KEY):
        assert _refs(agent_client, "thinkpad") == []  # old tokens, new key: stale until reindex
        call_command("reindex", "--batch-size", "1", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert not before & _stored_tokens()
        for q in (
            "thinkpad",
            "muller",
            "erika.mustermann@example.org",
            "think*",
            '"blinking cursor"',
        ):
            assert _refs(agent_client, q) == [laptop.reference], q


@pytest.mark.parametrize(
    ("q", "status"),
    [
        ("x" * 10_000, 400),
        ("the and of", 200),
        ("*", 200),
        ("%_?*", 200),
        ("nul\x00byte", 400),
        ("'; DROP TABLE tickets_searchtoken; --", 200),
        ('"unterminated phrase', 200),
        ("a " * 60, 200),
    ],
)
def test_bad_input_answers_a_message_or_nothing_never_a_500(agent_client, laptop, q, status):
    response = agent_client.get("/tickets/", {"q": q})
    assert response.status_code == status
    if status == 200 and not response.context["page"].object_list:
        assert (
            response.context["form"].search_notice
            or "No tickets match" in response.content.decode()
        )
    assert SearchToken.objects.exists()


def test_only_stop_words_says_why(agent_client, laptop):
    html = agent_client.get("/tickets/", {"q": "the and"}).content.decode()
    assert "Nothing to search for" in html


def _row(ticket) -> set[int]:
    return set(SearchToken.objects.get(ticket=ticket).tokens)


def _tok(term: str) -> int:
    return next(iter(tokens([term])))


def test_each_ticket_has_one_row_of_distinct_tokens(agent, laptop):
    row = SearchToken.objects.get(ticket=laptop)
    assert len(row.tokens) == len(set(row.tokens))
    assert set(row.subject) <= set(row.tokens)
    assert _tok("s:laptop") in row.subject and _tok("s:thinkpad") not in row.subject
    before = _row(laptop)
    services.comment_add(actor=agent, ticket=laptop, body="ThinkPad ThinkPad blinking cursor")
    assert _row(laptop) == before  # words already indexed add nothing


def test_a_term_only_internal_notes_hold_has_its_own_token(agent, laptop):
    services.comment_add(actor=agent, ticket=laptop, body="Vendor case", is_internal=True)
    row = _row(laptop)
    assert _tok(internal_term("s:vendor")) in row and _tok("s:vendor") not in row
    assert _tok(internal_term("s:thinkpad")) not in row  # public already
    services.comment_add(actor=agent, ticket=laptop, body="Called the vendor")
    row = _row(laptop)
    assert _tok("s:vendor") in row and _tok(internal_term("s:vendor")) not in row


def test_who_may_not_read_internal_notes_never_matches_their_terms(agent, laptop):
    services.comment_add(actor=agent, ticket=laptop, body="Vendor case", is_internal=True)
    for text, found_by_all in (("vendor", False), ("thinkpad vendor", False), ("thinkpad", True)):
        search = query.parse(text)
        assert Ticket.objects.filter(query.match(search, internal=True)).exists()
        assert Ticket.objects.filter(query.match(search, internal=False)).exists() is found_by_all


def test_other_forms_of_a_word_match_through_its_stem(agent, agent_client, queue_a):
    printers = services.ticket_create(
        actor=agent, queue=queue_a, subject="Printers offline", description="Die Drucker sind aus"
    )
    for q in ("printer", "printing", "drucker", "druckers", "Printers offline"):
        assert _refs(agent_client, q) == [printers.reference], q
    html = agent_client.get("/tickets/", {"q": "druckers"}).content.decode()
    assert "<mark>Drucker</mark>" in html


def test_cc_contacts_are_found_by_name_and_address(agent, agent_client, laptop, manager):
    copied = services.contact_get_or_create(
        actor=agent, email="anna.schmidt@example.org", name="Anna Schmidt"
    )
    services.ticket_set_cc(actor=agent, ticket=laptop, emails=["anna.schmidt@example.org"])
    for q in ("anna.schmidt@example.org", "schmidt", "anna"):
        assert _refs(agent_client, q) == [laptop.reference], q
    services.person_erase(actor=manager, contact=Contact.objects.get(pk=copied.pk))
    assert _refs(agent_client, "schmidt") == []
    services.ticket_set_cc(actor=agent, ticket=laptop, emails=["bert@example.org"])
    assert _refs(agent_client, "bert@example.org") == [laptop.reference]
    services.ticket_set_cc(actor=agent, ticket=laptop, emails=[])
    assert _refs(agent_client, "bert@example.org") == []


def test_words_from_the_subject_a_reply_and_an_internal_note_combine(agent, agent_client, laptop):
    services.comment_add(actor=agent, ticket=laptop, body="Lowered the MTU.")
    services.comment_add(actor=agent, ticket=laptop, body="Vendor case 4711", is_internal=True)
    assert _refs(agent_client, "laptop mtu vendor thinkpad") == [laptop.reference]
    services.comment_add(actor=agent, ticket=laptop, body="Dock replaced")
    assert _refs(agent_client, "dock vendor") == [laptop.reference]  # appended to both rows


def test_a_new_comment_appends_without_reading_the_tickets_other_texts(agent, agent_client, laptop):
    for n in range(5):
        services.comment_add(actor=agent, ticket=laptop, body=f"reply number {n}")
    reply = Comment.objects.create(ticket=laptop, body="Firmware updated", is_internal=False)
    note = Comment.objects.create(ticket=laptop, body="Vendor case", is_internal=True)
    for comment, count in ((reply, 1), (note, 2)):  # a reply merges in one statement
        with CaptureQueriesContext(connection) as ctx:
            search.index_comment(comment)
        sql = [q["sql"] for q in ctx.captured_queries]
        assert len(sql) == count, sql  # (a note reads the row, then writes it)
        assert not [q for q in sql if "tickets_comment" in q or "tickets_contact" in q]
    assert _refs(agent_client, "firmware vendor") == [laptop.reference]


def test_reindex_writes_the_same_rows_as_the_services(agent, laptop):
    services.comment_add(actor=agent, ticket=laptop, body="Vendor case 4711", is_internal=True)
    services.comment_add(actor=agent, ticket=laptop, body="Lowered the MTU for the vendor.")
    services.attachment_add(actor=agent, ticket=laptop, upload=upload("bios-photo.png", PNG))
    services.ticket_set_cc(actor=agent, ticket=laptop, emails=["anna@example.org"])
    written = SearchToken.objects.values_list("tokens", "subject").get(ticket=laptop)
    call_command("reindex", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert SearchToken.objects.values_list("tokens", "subject").get(ticket=laptop) == written


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reindex_in_worker_processes_rebuilds_every_ticket(agent, agent_client, queue_a):
    made = [
        services.ticket_create(actor=agent, queue=queue_a, subject=f"Dock {n}", description=word)
        for n, word in enumerate(("firmware", "firmware", "keyboard"))
    ]
    SearchToken.objects.all().delete()
    out = io.StringIO()
    call_command("reindex", "--batch-size", "1", "--workers", "2", stdout=out)
    assert "reindexed 3 tickets" in out.getvalue()
    assert set(_refs(agent_client, "firmware")) == {made[0].reference, made[1].reference}
    assert _refs(agent_client, "keyboard") == [made[2].reference]


def test_reindex_if_missing_builds_only_the_rows_an_upgrade_left_empty(agent, agent_client, laptop):
    other = services.ticket_create(actor=agent, queue=laptop.queue, subject="Dock", description="")
    SearchToken.objects.filter(ticket=laptop).delete()  # as after a migration that starts afresh
    kept = SearchToken.objects.values_list("tokens", flat=True).get(ticket=other)
    assert _refs(agent_client, "thinkpad") == []

    out = io.StringIO()
    call_command("reindex", "--if-missing", stdout=out)

    assert "reindexed" in out.getvalue()
    assert _refs(agent_client, "thinkpad") == [laptop.reference]
    assert SearchToken.objects.values_list("tokens", flat=True).get(ticket=other) == kept
    again = io.StringIO()
    call_command("reindex", "--if-missing", stdout=again)
    assert again.getvalue() == "search index complete: no ticket without its row\n"


def test_reindex_refuses_a_bad_worker_count():
    with pytest.raises(CommandError, match="--workers"):
        call_command("reindex", "--workers", "0")


def test_the_list_resync_carries_each_rows_snippet_as_text_pieces(agent, agent_client, laptop):
    services.comment_add(actor=agent, ticket=laptop, body="<b>the MTU</b> was wrong")
    rows = agent_client.get("/live/tickets.json", {"q": "mtu"}).json()["rows"]
    assert [row["snippet"] for row in rows] == [
        [["<b>the ", False], ["MTU", True], ["</b> was wrong", False]]
    ]
    rows = agent_client.get("/live/tickets.json").json()["rows"]
    assert [row["snippet"] for row in rows] == [None]


def test_a_number_finds_the_ticket_with_that_id_and_those_holding_it(agent, agent_client, laptop):
    services.comment_add(actor=agent, ticket=laptop, body=f"Lowered the MTU to {laptop.pk + 1400}")
    holder = services.ticket_create(
        actor=agent, queue=laptop.queue, subject="Dock", description=f"See T-{laptop.pk:06d}"
    )
    assert _refs(agent_client, str(laptop.pk + 1400)) == [laptop.reference]
    assert set(_refs(agent_client, str(laptop.pk))) == {laptop.reference}
    assert set(_refs(agent_client, laptop.reference)) == {laptop.reference, holder.reference}


def test_a_search_page_and_its_count_come_from_one_ranked_read(agent, agent_client, queue_a):
    for n in range(55):
        services.ticket_create(actor=agent, queue=queue_a, subject=f"Dock {n}", description="gizmo")
    first = agent_client.get("/tickets/", {"q": "gizmo"}).content.decode()
    assert "55 tickets" in first and first.count('data-ticket-id="') == 50
    second = agent_client.get("/tickets/", {"q": "gizmo", "page": "2"}).content.decode()
    assert second.count('data-ticket-id="') == 5
