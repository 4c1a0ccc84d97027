"""Every model admin of the site, ours and third-party ones (axes, auditlog), answers odd
query strings, bulk actions and form values with the admin's own clear answers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.conftest import login, make_user
from tickets.models import Ticket

HUGE = "9" * 40


@pytest.fixture
def admin_client(client, admin_user):
    return login(client, admin_user)


@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=9999",  # the next year does not exist
        "created_at__year=9999&created_at__month=12",
        f"created_at__year={HUGE}",
        "created_at__year=2024&created_at__month=13",
        "q=%00",
        "status__exact=open&queue__id__exact=%00",
    ],
)
def test_odd_changelist_filters_redirect_to_the_error_flag(admin_client, ticket_a, query):
    response = admin_client.get(f"/admin/tickets/ticket/?{query}")
    assert response.status_code == 302
    assert response["Location"] == "/admin/tickets/ticket/?e=1"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/axes/accessattempt/?path_info=%00",
        "/admin/axes/accesslog/?attempt_time__year=9999",
        "/admin/auditlog/logentry/?resource_type=abc",
        "/admin/auditlog/logentry/?cid=%00",
        "/admin/auditlog/logentry/?timestamp__year=9999&timestamp__month=12&timestamp__day=31",
    ],
)
def test_third_party_admins_get_the_same_answer(admin_client, ticket_a, url):
    response = admin_client.get(url)
    assert response.status_code == 302
    assert response["Location"].endswith("/?e=1")


@pytest.mark.parametrize("selected", [["abc"], ["1", "\x00"], ["1.5"]])
def test_a_bulk_action_on_malformed_ids_does_nothing_and_says_so(admin_client, selected):
    group = Group.objects.create(name="keep me")
    response = admin_client.post(
        "/admin/auth/group/",
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Select items from the list." in response.content.decode()
    assert Group.objects.filter(pk=group.pk).exists()


def test_a_bulk_action_on_real_ids_still_works(admin_client):
    victim = make_user("victor")
    response = admin_client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [str(victim.pk)], "post": "yes"},
    )
    assert response.status_code == 302
    assert not type(victim).objects.filter(pk=victim.pk).exists()


@pytest.mark.parametrize("term", ["%00", "x" * 5000, "%ED%A0%80"])
def test_the_autocomplete_answers_any_term(admin_client, queue_a, term):
    response = admin_client.get(
        "/admin/autocomplete/?app_label=tickets&model_name=ticket&field_name=queue&term=" + term
    )
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_autocomplete_lists_queues_by_name(admin_client, queue_a, queue_b):
    response = admin_client.get(
        "/admin/autocomplete/?app_label=tickets&model_name=ticket&field_name=queue"
    )
    assert [r["text"] for r in response.json()["results"]] == ["Alpha support", "Beta billing"]


@pytest.mark.parametrize("queue", ["\x00", "abc", "1.5", HUGE])
def test_a_ticket_form_with_a_bad_queue_is_shown_again_with_an_error(admin_client, queue_a, queue):
    data = {"queue": queue, "subject": "s", "priority": 2, "status": "new"}
    response = admin_client.post("/admin/tickets/ticket/add/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["queue"]
    assert not Ticket.objects.exists()
    assert admin_client.get(f"/admin/tickets/ticket/add/?queue={queue}").status_code == 200
