"""A sweep of every URL of the project with hostile input: never a 5xx, never a traceback,
and the database unchanged whenever the answer is an error (the house rule: every bad input
gets a clear answer and loses nothing).

The URL list comes from walking the resolver, so a new view is swept without anyone adding
it here. Each URL's parameters are filled with a real object, then with missing and
malformed ones. Each page is asked, as a verified manager and as an agent (admin pages also
as an admin; public pages also anonymously and half-logged-in), with hostile query strings
and bodies built from the names of the forms that point at it. Combinations are sampled
deterministically, and a URL that refuses a method or a role outright (403, 405, a login
redirect) is not asked again that way, which keeps the sweep under a minute.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import login_state
from accounts.models import UserSession
from tests.conftest import login, make_user
from tests.helpers import PNG, db_fingerprint, db_write_count, upload
from tickets import services
from tickets.agent_models import CannedResponse
from tickets.mail.outbound_models import (
    MailNotificationPreference,
    OutboundMail,
    QueueMailSettings,
)
from tickets.models import Activity, Comment, Contact, Queue, Ticket
from tickets.organising_models import Tag
from tickets.services import attachment_add

pytestmark = pytest.mark.django_db

# SWEEP_EXHAUSTIVE=1 sends every value everywhere instead of a sample (minutes, not seconds).
EXHAUSTIVE = os.environ.get("SWEEP_EXHAUSTIVE") == "1"

BIG = "x" * 100_000
HUGE_INT = "9" * 40
# A lone UTF-16 surrogate as it can travel over HTTP: its (invalid) UTF-8 bytes.
SURROGATE = "%ED%A0%80"

# Hostile values by family; a field gets one of each family (both dates: the ends of the
# calendar are where date arithmetic overflows).
FAMILIES: dict[str, list[str]] = {
    "control": ["\x00", "nul\x00in the middle", "bell\x07esc\x1b[31mdel\x7f\x85\u2028\u2029"],
    "size": [
        BIG,
        "\u202eevil\u202c \u200b\u200d emoji 😀👨‍👩‍👧 combining e\u0301\u0301\u0301",
        "",
        " ",
    ],
    "number": [
        HUGE_INT,
        "-1",
        "-9223372036854775809",
        "9223372036854775808",
        "0",
        "1.5",
        "1e309",
        "NaN",
        "0x10",
    ],
    "date": ["9999-12-31", "0001-01-01"],
    "other": [
        "00000000-0000-0000-0000-00000000000g",
        "../../../../etc/passwd",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%s%n{0}{{7*7}}",
        "999.1.1.1",
        "::ffff:1.2.3.4%eth0",
        "T-" + HUGE_INT,
        "2024-02-30",
        "..\\..\\windows\\win.ini",
    ],
}
HOSTILE = [value for values in FAMILIES.values() for value in values]
# Sent percent-encoded as they are, so the server sees the raw bytes.
RAW_HOSTILE = [SURROGATE, "%00", "%FF%FE", "%C0%AF"]
# Exports and live resynchronisations take the filters of a page's form.
FILTERS_OF = {
    "/audit/events.csv": "/audit/",
    "/audit/history.csv": "/audit/history/",
    "/live/tickets.json": "/tickets/",
}
# Read by many pages without being a form field.
GENERIC_NAMES = ["page", "next", "q", "sort", "status", "format", "id"]

MALFORMED_BODIES: list[tuple[str, bytes]] = [
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\n"),
    ("multipart/form-data", b"no boundary at all"),
    ("multipart/form-data; boundary=" + "b" * 200, b"--" + b"b" * 200 + b"\r\n"),
    (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="\x00../../x.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n--xyz--\r\n",
    ),
    (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="\xed\xa0\x80"\r\n\r\nv\r\n--xyz--\r\n',
    ),
    ("application/x-www-form-urlencoded", b"a=%ED%A0%80&b=%00&c=%FF&%ZZ=1&&=&==="),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"q=1"),
    ("application/x-www-form-urlencoded; charset=utf-16", b"\xff\xfeq\x00=\x00"),
    ("application/json", b'{"status": ['),
    ("application/json", b'{"status": {"$ne": 1}, "page": 1e999}'),
    ("text/plain", b"\x00\x01\x02"),
    ("application/xml", b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"),
]

TRACEBACK_MARKERS = (b"Traceback (most recent call last)", b"Exception Value", b'File "/')
LOGIN_URLS = ("/accounts/login/", "/admin/login/")
VISITORS = ("anonymous", "pending", "enrolling")


def _patterns(patterns: Any = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


ROUTES = sorted({route for route, _ in _patterns()})
SITE_ROUTES = [r for r in ROUTES if not r.startswith("admin/")]
ADMIN_ROUTES = [r for r in ROUTES if r.startswith("admin/")]
ADMIN_MODELS = sorted(model._meta.label_lower.replace(".", "/") for model in admin.site._registry)


# --- The objects behind every kind of URL parameter ----------------------------------------


@dataclass
class World:
    manager: Any
    agent: Any
    admin: Any
    newcomer: Any  # an agent without an authenticator yet (the enrolment step)
    ticket: Ticket
    foreign_ticket: Ticket
    attachment_uid: uuid.UUID
    session_sid: str
    pks: dict[str, Any] = field(default_factory=dict)


def _world() -> World:
    queue = Queue.objects.create(name="Alpha support", slug="alpha")
    other = Queue.objects.create(name="Beta billing", slug="beta")
    manager = make_user("maria", "manager")
    agent = make_user("alice", "agent")
    foreign_agent = make_user("bob", "agent")
    newcomer = make_user("nina", "agent")
    queue.members.add(agent, newcomer)
    other.members.add(foreign_agent)
    contact = services.contact_get_or_create(
        actor=agent, email="ann@example.org", name="Ann", phone="+1 555"
    )
    ticket = services.ticket_create(
        actor=agent, queue=queue, subject="Printer on fire", description="Smells.", contact=contact
    )
    foreign = services.ticket_create(
        actor=foreign_agent, queue=other, subject="Invoice", description="Charged twice."
    )
    comment = services.comment_add(actor=agent, ticket=ticket, body="On it.", is_internal=False)
    attachment = attachment_add(actor=agent, ticket=ticket, upload=upload("a.png", PNG))
    now = timezone.now()
    common = {"user_agent": "ua", "ip_address": "10.0.0.1", "username": "x", "path_info": "/"}
    attempt = AccessAttempt.objects.create(
        attempt_time=now, get_data="", post_data="", failures_since_start=1, **common
    )
    access_log = AccessLog.objects.create(attempt_time=now, **common)
    failure_log = AccessFailureLog.objects.create(attempt_time=now, locked_out=False, **common)
    quarantined = services.mail_receive(
        raw=b"From: ann@example.org\r\nTo: lost@example.com\r\nSubject: Lost\r\n\r\nHi\r\n"
    )
    # Another session of the manager's, for the sessions page to revoke.
    login(Client(), manager)
    world = World(
        manager=manager,
        agent=agent,
        admin=make_user("root", "admin"),
        newcomer=newcomer,
        ticket=ticket,
        foreign_ticket=foreign,
        attachment_uid=attachment.uid,
        session_sid=UserSession.objects.filter(user=manager).values_list("sid", flat=True).get(),
        pks={
            "axes/accessattempt": attempt.pk,
            "axes/accesslog": access_log.pk,
            "axes/accessfailurelog": failure_log.pk,
            # Not one of the sweep's own users or roles: an admin may delete these.
            "auth/user": make_user("victor", "agent").pk,
            "auth/group": Group.objects.create(name="sample").pk,
            "tickets/queue": queue.pk,
            "tickets/contact": contact.pk,
            "tickets/ticket": ticket.pk,
            "tickets/comment": comment.pk,
            "tickets/activity": Activity.objects.filter(ticket=ticket).first().pk,
            "tickets/inboundmessage": quarantined.pk,
            "auditlog/logentry": LogEntry.objects.order_by("pk").first().pk,
            # Mail out: the public reply above queued a mail and its send task.
            "tickets/outboundmail": OutboundMail.objects.get(comment=comment).pk,
            "django_tasks_database/dbtaskresult": DBTaskResult.objects.get().pk,
            "tickets/queuemailsettings": QueueMailSettings.objects.create(queue=other).pk,
            "tickets/mailnotificationpreference": MailNotificationPreference.objects.create(
                user=newcomer
            ).pk,
            "tickets/tag": Tag.objects.create(name="VIP", slug="vip").pk,
            "tickets/savedview": services.saved_view_save(
                actor=agent, name="Mine", query="status=new"
            ).pk,
            "tickets/cannedresponse": CannedResponse.objects.create(name="Hi", body="Hello").pk,
            "canned/own": CannedResponse.objects.create(name="Mine", body="x", owner=agent).pk,
        },
    )
    missing = set(ADMIN_MODELS) - set(world.pks)
    assert not missing, f"the sweep has no sample object for admin models {missing}"
    return world


BAD_IDS = ["999999999", "abc", "-1", HUGE_INT, "%00", SURROGATE, "..%2F..%2Fetc", "😀", "1.5"]
BAD_REFS = ["T-999999", "garbage", "T-" + HUGE_INT, "%00", SURROGATE, "..", "T-000001%00"]
REAL = "real object"


def _fill(route: str, world: World, bad_ids: list[str] = BAD_IDS) -> list[tuple[str, str]]:
    """(path, label) pairs for a route: its parameters as a real object, then bad ones."""
    if "(?P<url>" in route:
        return [("/admin/nope/", REAL), ("/admin/tickets/ticket/abc/xyz/", REAL)]
    if route.startswith("admin/^("):
        return [(f"/admin/{app}/", REAL) for app in ("tickets", "auth", "axes", "nope", "%00")]
    if "<path:content_type_id>" in route:
        ct = ContentType.objects.get_for_model(Ticket).pk
        return [
            (f"/admin/r/{ct}/{world.ticket.pk}/", REAL),
            (f"/admin/r/{ct}/999999/", "missing object"),
            (f"/admin/r/abc/{HUGE_INT}/", "malformed ids"),
            (f"/admin/r/{HUGE_INT}/1/", "malformed ids"),
            ("/admin/r/%00/%00/", "malformed ids"),
        ]
    params = re.findall(r"<(?:(\w+):)?(\w+)>", route)
    if not params:
        return [("/" + route, REAL)]
    model = re.match(r"^admin/(\w+/\w+)/", route)
    real: dict[str, str] = {}
    bad: dict[str, list[str]] = {}
    for _converter, name in params:
        if name in ("object_id", "id"):
            real[name] = str(world.pks[model.group(1)])
            bad[name] = bad_ids
        elif name == "ref":
            real[name] = world.ticket.reference
            bad[name] = [world.foreign_ticket.reference, *BAD_REFS]
        elif name == "uid":
            real[name] = str(world.attachment_uid)
            bad[name] = [str(uuid.uuid4()), "not-a-uuid", "0" * 32]
        elif name == "pk" and route.startswith("tickets/views/"):
            real[name] = str(world.pks["tickets/savedview"])
            bad[name] = bad_ids
        elif name == "pk" and route.startswith("canned/"):
            real[name] = str(world.pks["canned/own"])  # the agent's own canned response
            bad[name] = bad_ids
        elif name == "sid":
            real[name] = world.session_sid
            bad[name] = ["x", "%00", "a" * 5000, SURROGATE]
        else:
            raise AssertionError(f"the sweep does not know how to fill <{name}> in {route}")

    def build(values: dict[str, str]) -> str:
        path = route
        for converter, name in params:
            path = path.replace(f"<{converter}:{name}>" if converter else f"<{name}>", values[name])
        return "/" + path

    filled = [(build(real), REAL)]
    for name, values in bad.items():
        filled += [(build({**real, name: value}), f"{name}={value[:20]}") for value in values]
    return filled


# --- Checking one answer -------------------------------------------------------------------


class Ledger:
    """What the database held after the last request, shared by a test's roles."""

    def __init__(self) -> None:
        self.writes = db_write_count()
        self.state = db_fingerprint()

    def changed_tables(self) -> list[str]:
        """Tables whose rows differ from the last look (and remember the new state)."""
        writes = db_write_count()
        if writes == self.writes:
            return []
        state = db_fingerprint()
        changed = sorted(t for t in state if state[t] != self.state.get(t))
        self.writes, self.state = writes, state
        return changed


def _body(response: Any) -> bytes:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content)
    return response.content


def _is_error(method: str, status: int, content: bytes) -> bool:
    """An error answer: 4xx, or a form re-shown with errors after a POST (the admin's 200)."""
    return status >= 400 or (method == "POST" and status == 200 and b"errorlist" in content)


@dataclass
class Failure:
    who: str
    method: str
    url: str
    what: str
    status: int
    detail: str = ""

    def __str__(self) -> str:
        shown = self.url if len(self.url) < 140 else self.url[:137] + "..."
        return f"{self.who} {self.method} {shown} [{self.what}] -> {self.status} {self.detail}"


FORM_RE = re.compile(rb"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ATTR_RE = re.compile(rb'(action|method)="([^"]*)"', re.I)
NAME_RE = re.compile(rb'name="([^"]+)"')
IGNORED_NAMES = {"csrfmiddlewaretoken"}


class Sweeper:
    """One role's client: sends requests and records every answer that breaks the rule."""

    def __init__(self, world: World, who: str, ledger: Ledger) -> None:
        self.who = who
        self.ledger = ledger
        self.user = {
            "manager": world.manager,
            "agent": world.agent,
            "admin": world.admin,
            "pending": world.agent,
            "enrolling": world.newcomer,
        }.get(who)
        self.client = Client(raise_request_exception=False)
        self.failures: list[Failure] = []
        self.count = 0
        # (method, path) -> names of the fields of the forms that submit there
        self.forms: dict[tuple[str, str], set[str]] = {}
        self.signed_out = False
        self._start()

    def _start(self) -> None:
        if self.who in ("manager", "agent", "admin"):
            login(self.client, self.user)
        elif self.who in ("pending", "enrolling"):
            if self.who == "pending":
                login(Client(), self.user)  # gives the user a confirmed authenticator
            session = self.client.session
            session[login_state.PENDING] = {
                "user_id": self.user.pk,
                "backend": django_settings.AUTHENTICATION_BACKENDS[-1],
                "at": int(time.time()),
                "next": "",
            }
            session.save()

    def _signed_out_by(self, response: Any) -> bool:
        """Whether that request ended this role's login (logout does, legitimately)."""
        request = response.wsgi_request
        if self.who in ("pending", "enrolling"):
            return login_state.PENDING not in request.session
        user = getattr(request, "user", None)  # none if refused before authentication
        return self.who != "anonymous" and user is not None and not user.is_authenticated

    def request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        body: Any = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        client: Client | None = None,
    ) -> Any:
        if self.signed_out:  # the sweep carries on as the same role
            self._start()
            self.signed_out = False
            self.ledger.changed_tables()  # signing in again wrote, not the next request
        own = client is None
        client = client or self.client
        kwargs: dict[str, Any] = dict(headers or {})
        if method == "GET":
            response = client.get(url, **kwargs)
        elif content_type is None:
            response = client.post(url, body or {}, **kwargs)
        else:
            # Raw bytes as they are; the real Content-Type goes in the header only, since
            # the test client would otherwise re-encode the body by its charset.
            kwargs["CONTENT_TYPE"] = content_type
            response = client.post(url, body, content_type="application/octet-stream", **kwargs)
        self.count += 1
        self.signed_out = own and self._signed_out_by(response)
        status = response.status_code
        try:
            content = _body(response)
        except Exception as exc:  # a streamed body that fails half-way is a 500 too
            self._fail(method, url, what, status, repr(exc))
            return response
        if status >= 500:
            detail = content[:100].decode(errors="replace").replace("\n", " ")
            self._fail(method, url, what, status, detail)
        elif any(marker in content for marker in TRACEBACK_MARKERS):
            self._fail(method, url, what, status, "traceback in the body")
        if (changed := self.ledger.changed_tables()) and _is_error(method, status, content):
            self._fail(method, url, what, status, f"an error that wrote to {changed}")
        if status == 200 and response.get("Content-Type", "").startswith("text/html"):
            self._learn_forms(url, content)
        return response

    def _fail(self, method: str, url: str, what: str, status: int, detail: str) -> None:
        self.failures.append(Failure(self.who, method, url, what, status, detail))

    def _learn_forms(self, url: str, content: bytes) -> None:
        page = urlsplit(url).path
        for attrs, inner in FORM_RE.findall(content):
            found = {k.decode().lower(): v.decode() for k, v in ATTR_RE.findall(attrs)}
            target = urlsplit(found.get("action") or page).path or page
            method = found.get("method", "get").upper()
            names = {n.decode() for n in NAME_RE.findall(inner)} - IGNORED_NAMES
            self.forms.setdefault((method, target), set()).update(names)

    def names_for(self, method: str, path: str) -> list[str]:
        """The fields of the forms that submit to path (for an export, its page's filters)."""
        return sorted(self.forms.get((method, FILTERS_OF.get(path, path)), set()))


def _refused(response: Any, who: str = "") -> bool:
    """Refused before any input is looked at: forbidden, wrong method, or not signed in
    (for someone not signed in, any redirect: to the login, the code or the enrolment)."""
    if response.status_code in (403, 405):
        return True
    if response.status_code != 302:
        return False
    return who in VISITORS or response["Location"].startswith(LOGIN_URLS)


def _query(pairs: list[tuple[str, str]], raw: bool = False) -> str:
    if raw:
        return "&".join(f"{quote(k)}={v}" for k, v in pairs)
    return urlencode(pairs)


def _sample(values: list[Any], seed: int, k: int) -> list[Any]:
    """k values, rotating with the seed, so that across URLs every value gets used."""
    if EXHAUSTIVE:
        return list(values)
    return [values[(seed * 5 + i) % len(values)] for i in range(min(k, len(values)))]


def _field_values(seed: int, k: int = 6) -> list[str]:
    """One value of each family for one field (both dates), the first k of them."""
    if EXHAUSTIVE:
        return HOSTILE
    return [
        FAMILIES["control"][seed % 3],
        FAMILIES["number"][seed % 9],
        FAMILIES["date"][0],
        FAMILIES["other"][seed % 10],
        FAMILIES["size"][seed % 4],
        FAMILIES["date"][1],
    ][:k]


def _parent(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[0] + "/"


def _sweep_raw_and_types(
    s: Sweeper, method: str, path: str, names: list[str], seed: int, samples: int
) -> None:
    """Raw bytes (a lone surrogate, NUL), lists for scalars, a file for text, and malformed
    bodies of every kind."""
    sep = "&" if "?" in path else "?"
    for value in _sample(RAW_HOSTILE, seed, 2):
        raw = _query([(n, value) for n in names], raw=True)
        if method == "GET":
            s.request("GET", path + sep + raw, f"raw {value}")
        else:
            form = "application/x-www-form-urlencoded"
            s.request("POST", path, f"raw {value}", body=raw.encode(), content_type=form)
    if method == "GET":
        s.request("GET", path + sep + _query([(n, v) for n in names for v in ("1", "b")]), "lists")
        return
    body: dict[str, Any] = {n: ["1", "b"] for n in names}
    body["file"] = upload("../../\x00evil.html", b"<script>x</script>", "text/html")
    s.request("POST", path, "lists and a file", body=body)
    for content_type, raw_body in _sample(MALFORMED_BODIES, seed, min(samples, 3)):
        s.request("POST", path, content_type[:40], body=raw_body, content_type=content_type)


def _sweep_url(
    s: Sweeper,
    path: str,
    label: str,
    seed: int,
    *,
    field_by_field: bool,
    hostile: bool = True,
    samples: int = 4,
    extras: bool = True,
    per_field: int = 6,
) -> None:
    """Plain requests; for a real object also hostile values in every field at once
    (``samples`` of them), raw bytes, wrong types and malformed bodies (``extras``), and
    hostile values one field at a time (``field_by_field``, ``per_field`` values each)."""
    got = s.request("GET", path, label or "plain")
    posted = s.request("POST", path, "empty body")
    if label != REAL or not hostile:
        return  # a bad id: the plain answers are the interesting ones
    accepted = [m for m, r in (("GET", got), ("POST", posted)) if not _refused(r, s.who)]
    sep = "&" if "?" in path else "?"
    for method in accepted:
        # The forms that post here live on the page above (a ticket's actions); an export
        # takes its page's filters.
        source = FILTERS_OF.get(path) or (_parent(path) if method == "POST" else None)
        if source and not s.names_for(method, path):
            s.request("GET", source, "the page with the form")
        names = s.names_for(method, path)
        everything = sorted(set(names) | set(GENERIC_NAMES))
        # Every field at once, with a sample of values.
        for value in _sample(HOSTILE, seed + len(method), samples):
            what = f"all fields={value[:16]!r}"
            if method == "GET":
                s.request("GET", path + sep + _query([(n, value) for n in everything]), what)
            else:
                s.request("POST", path, what, body=dict.fromkeys(everything, value))
        if extras:
            _sweep_raw_and_types(s, method, path, sorted(everything), seed, samples)
        # One field at a time (the others absent), so an early refusal of one field
        # cannot hide what a later one does.
        if field_by_field and (method == "POST" or "POST" not in accepted):
            generic = ["page", "next"] if method == "GET" else []
            for index, name in enumerate([*names, *generic]):
                for value in _field_values(seed + index, per_field):
                    what = f"{name}={value[:16]!r}"
                    if method == "GET":
                        s.request("GET", path + sep + _query([(name, value)]), what)
                    else:
                        s.request("POST", path, what, body={name: value})


@pytest.fixture
def world(settings: Any) -> World:
    # Hundreds of POSTs a minute by one user: the throttle would answer them with 429
    # before they reach the views being swept (the throttle has its own tests).
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES, 1_000_000)
    return _world()


def _report(sweepers: list[Sweeper]) -> str:
    failures = [f for s in sweepers for f in s.failures]
    head = f"{len(failures)} bad answers out of {sum(s.count for s in sweepers)} requests:\n"
    return head + "\n".join(str(f) for f in failures[:40])


# --- The sweeps ----------------------------------------------------------------------------


def _sweepers(world: World, *roles: str) -> list[Sweeper]:
    ledger = Ledger()
    sweepers = [Sweeper(world, who, ledger) for who in roles]
    ledger.changed_tables()  # signing in wrote; the requests start from here
    return sweepers


PUBLIC_ROUTES = {
    route
    for route, entry in _patterns()
    if not getattr(entry.callback, "login_required", True)
    or re.match(r"^(healthz|readyz|metrics)$", route)
}


@pytest.mark.parametrize("route", SITE_ROUTES)
def test_every_url_answers_hostile_input_without_a_server_error(world, route):
    seed = ROUTES.index(route)
    sweepers = _sweepers(world, "manager", "agent")
    for path, label in _fill(route, world):
        for s in sweepers:
            # The agent's answers differ in access and choices, not in how input is parsed.
            agent = s.who == "agent" and not EXHAUSTIVE
            _sweep_url(
                s, path, label, seed, field_by_field=not agent, samples=1 if agent else 4,
                extras=not agent,
            )  # fmt: skip
    assert not any(s.failures for s in sweepers), _report(sweepers)


@pytest.mark.parametrize("route", SITE_ROUTES)
def test_visitors_and_half_logged_in_users_get_a_clear_answer_everywhere(world, route):
    seed = ROUTES.index(route)
    sweepers = _sweepers(world, *VISITORS)
    public = route in PUBLIC_ROUTES
    field_by_field = public  # once per page: as the first role whose page it is
    for path, label in _fill(route, world)[: 2 if public else 1]:
        for s in sweepers:
            plain_only = s.count + 2
            _sweep_url(s, path, label, seed, field_by_field=field_by_field)
            field_by_field = field_by_field and s.count == plain_only
    assert not any(s.failures for s in sweepers), _report(sweepers)


ADMIN_BAD_IDS = ["999999999", "abc", HUGE_INT, "%00"]


@pytest.mark.parametrize("route", ADMIN_ROUTES)
def test_every_admin_url_answers_missing_and_malformed_ids_without_a_server_error(world, route):
    """An admin passes every permission check, so the deepest code runs with every id and
    hostile input; a manager and an agent meet the permission checks with the real id."""
    seed = ROUTES.index(route)
    sweepers = _sweepers(world, "admin", "manager", "agent")
    for path, label in _fill(route, world, ADMIN_BAD_IDS):
        for s in sweepers:
            if s.who != "admin" and label != REAL and not EXHAUSTIVE:
                continue
            if s.who == "agent" and not EXHAUSTIVE:
                s.request("GET", path, "plain")  # the admin is closed to agents, whatever
                continue
            if label not in (REAL, "object_id=abc", "id=abc") and not EXHAUSTIVE:
                s.request("GET", path, label)  # the same lookup as the malformed id's POST
                continue
            _sweep_url(
                s,
                path,
                label,
                seed,
                # Only where the admin reads input: not a bare object URL (a redirect to its
                # change page), its history or its delete confirmation.
                hostile=(s.who == "admin" and not route.endswith((">/", "history/", "delete/")))
                or EXHAUSTIVE,
                # Field by field only on our own forms; Django's are Django's to test.
                field_by_field=route.startswith("admin/tickets/")
                and route.endswith(("add/", "change/")),
                samples=2,
                per_field=3,
            )
    assert not any(s.failures for s in sweepers), _report(sweepers)


# Django admin changelist parameters: ordering, paging, search, errors, popups, filters.
CHANGELIST_PARAMS: list[str] = [
    "o=999",
    "o=abc",
    "o=-",
    "o=1.-2.999",
    "p=abc",
    "p=-1",
    "p=" + HUGE_INT,
    "q=%00",
    "q=" + SURROGATE,
    "q=" + quote(BIG),
    "q=a&q=b&o=1&o=2",
    "e=1",
    "all=",
    "_popup=1&_to_field=password",
    "_to_field=id&_popup=abc",
    "_changelist_filters=" + quote("o=999&p=abc"),
    "password__startswith=a",
    "id__in=1,abc",
    "pk__gt=%00",
    "is_active__exact=maybe",
    "groups__id__exact=abc",
    "is_superuser__exact=%00",
    "status__exact=zzz",
    "queue__id__exact=" + HUGE_INT,
    "priority__exact=abc",
    "erased_at__isnull=maybe",
    "is_internal__exact=%00",
    "verb__exact=nope&queue__id__exact=-1",
    "action__exact=abc",
    "resource_type=abc",
    "resource_type=" + HUGE_INT,
    "cid=%00",
    "attempt_time__gte=notadate&attempt_time__lt=2024-13-45",
    "is_locked_out=maybe",
    "path_info=%00",
    "locked_out__exact=2",
    "logout_time__isnull=abc",
]
DATE_HIERARCHY_PARAMS = [
    "{f}__year=abc",
    "{f}__year=" + HUGE_INT,
    "{f}__year=0",
    "{f}__year=-1",
    "{f}__year=9999",
    "{f}__year=9999&{f}__month=12",
    "{f}__year=9999&{f}__month=12&{f}__day=31",
    "{f}__year=1&{f}__month=1&{f}__day=1",
    "{f}__year=2024&{f}__month=13",
    "{f}__year=2024&{f}__month=2&{f}__day=30",
    "{f}__month=1",
]
ADMIN_ACTION_BODIES: list[dict[str, Any]] = [
    {"action": "delete_selected", "_selected_action": ["abc", HUGE_INT, "\x00"]},
    {"action": "no_such_action", "_selected_action": ["1"]},
    {"action": "export_personal_data", "_selected_action": [HUGE_INT, "-1", "%00"]},
    {"action": ["a", "b"], "index": "abc", "select_across": "maybe"},
    {"action": "delete_selected", "select_across": "1", "index": HUGE_INT},
]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_changelists_survive_odd_filters_ordering_and_search(world, model):
    sweepers = _sweepers(world, "admin", "manager")
    model_admin = next(
        a for m, a in admin.site._registry.items() if m._meta.label_lower.replace(".", "/") == model
    )
    params = list(CHANGELIST_PARAMS)
    if model_admin.date_hierarchy:
        params += [p.format(f=model_admin.date_hierarchy) for p in DATE_HIERARCHY_PARAMS]
    url = f"/admin/{model}/"
    for s in sweepers:
        if _refused(s.request("GET", url, "plain")):
            continue  # a manager may not see this model at all
        # The admin gets every parameter; the manager, whose permissions are checked first,
        # a sample.
        for query in params if s.who == "admin" else _sample(params, len(url), 8):
            s.request("GET", f"{url}?{query}", query[:40])
        for body in ADMIN_ACTION_BODIES:
            s.request("POST", url, f"action {body['action']}", body=body)
    assert not any(s.failures for s in sweepers), _report(sweepers)


AUTOCOMPLETE_QUERIES = [
    "app_label=tickets&model_name=ticket&field_name=queue&term=%00",
    "app_label=tickets&model_name=ticket&field_name=queue&term=" + quote(BIG),
    "app_label=tickets&model_name=ticket&field_name=queue&term=" + SURROGATE,
    "app_label=tickets&model_name=ticket&field_name=queue&page=" + HUGE_INT,
    "app_label=tickets&model_name=ticket&field_name=queue&page=abc",
    "app_label=tickets&model_name=ticket&field_name=password&term=a",
    "app_label=nope&model_name=nope&field_name=nope",
    "app_label=" + SURROGATE,
    "",
]


def test_admin_autocomplete_answers_garbage_without_a_server_error(world):
    sweepers = _sweepers(world, "admin", "manager", "agent")
    for s in sweepers:
        for query in AUTOCOMPLETE_QUERIES:
            s.request("GET", f"/admin/autocomplete/?{query}", query[-40:])
    assert not any(s.failures for s in sweepers), _report(sweepers)


HOSTILE_HEADERS: list[dict[str, str]] = [
    {"HTTP_X_FORWARDED_FOR": "not-an-ip, , 999.1.1.1, ::1%zz, " + "1," * 500},
    {"HTTP_X_FORWARDED_FOR": "\x00"},
    {"HTTP_X_FORWARDED_FOR": "1.2.3.4, 10.0.0.1"},
    {"HTTP_X_FORWARDED_PROTO": "https, http"},
    {"HTTP_HOST": "evil.example"},
    {"HTTP_HOST": "localhost:abc"},
    {"HTTP_HOST": "[::1"},
    {"HTTP_HOST": "a" * 300},
    {"HTTP_HOST": "localhost\x00"},
    {"HTTP_ORIGIN": "null"},
    {"HTTP_ORIGIN": "http://[::1"},
    {"HTTP_REFERER": "http://\x00/"},
    {"HTTP_X_REQUEST_ID": "\x00" * 100},
    {"HTTP_USER_AGENT": "\x00" + "A" * 20_000},
    {"HTTP_ACCEPT_LANGUAGE": "x" * 500 + ";q=abc, *;q=-1"},
    {"HTTP_COOKIE": "sessionid=\x00; csrftoken=" + "a" * 5000 + "; =;;"},
    {"HTTP_AUTHORIZATION": "Bearer \x00" + "a" * 10_000},
    {"HTTP_AUTHORIZATION": "Basic %%%"},
    {"HTTP_RANGE": "bytes=999999999-1"},
    {"HTTP_IF_MODIFIED_SINCE": "not a date"},
    {"HTTP_IF_NONE_MATCH": '"' * 1000},
    {"REMOTE_ADDR": "not-an-ip"},
    {"REMOTE_ADDR": ""},
]
HEADER_URLS = [
    "/tickets/",
    "/tickets/new/",
    "/accounts/login/",
    "/audit/",
    "/metrics",
    "/admin/tickets/ticket/",
    "/live/dashboard.json",
]


def test_malformed_headers_get_a_clear_answer(world, settings):
    settings.TRUSTED_PROXY_COUNT = 2  # X-Forwarded-For is read (and must be parsed safely)
    settings.METRICS_ALLOWED_NETWORKS = [__import__("ipaddress").ip_network("10.0.0.0/8")]
    sweepers = _sweepers(world, "manager", "agent", "anonymous")
    login_form = {"username": "alice", "password": "wrong-password-123"}
    for s in sweepers:
        for index, url in enumerate(HEADER_URLS):
            # Every header where headers are stored (a failed login's lockout record, a
            # refusal's audit event); a sample elsewhere.
            stored = url in ("/accounts/login/", "/audit/")
            for headers in HOSTILE_HEADERS if stored else _sample(HOSTILE_HEADERS, index, 8):
                s.request("GET", url, str(headers)[:40], headers=headers)
            for headers in HOSTILE_HEADERS if stored else _sample(HOSTILE_HEADERS, index, 2):
                body = login_form if stored else {"q": "x"}
                s.request("POST", url, str(headers)[:40], body=body, headers=headers)
    assert not any(s.failures for s in sweepers), _report(sweepers)


def test_a_foreign_or_broken_origin_on_a_post_is_refused_and_saves_nothing(world):
    strict = Client(raise_request_exception=False, enforce_csrf_checks=True)
    login(strict, world.agent)
    (s,) = _sweepers(world, "agent")
    for origin in ("https://evil.example", "null", "http://[::1", "\x00"):
        response = s.request(
            "POST",
            "/tickets/new/",
            f"origin {origin!r}",
            body={"queue": world.ticket.queue_id, "subject": "x", "priority": "2"},
            headers={"HTTP_ORIGIN": origin},
            client=strict,
        )
        assert response.status_code == 403
    assert Ticket.objects.count() == 2
    assert not s.failures, _report([s])


def test_the_default_test_client_does_not_raise_on_hostile_input(world):
    """Django's default test client re-raises a view's uncaught exception: none may escape."""
    client = Client()
    login(client, world.admin)
    urls = [
        f"/tickets/?q={SURROGATE}&page={HUGE_INT}",
        "/audit/?date_to=9999-12-31",
        "/audit/events.csv?date_from=0001-01-01&date_to=9999-12-31",
        "/audit/history/?date_to=9999-12-31&object_id=" + HUGE_INT,
        "/admin/tickets/ticket/?q=%00",
        "/admin/tickets/ticket/?created_at__year=9999&created_at__month=12",
        "/admin/autocomplete/?app_label=tickets&model_name=ticket&field_name=queue&term=%00",
        "/accounts/sessions/%00/revoke/",
        f"/tickets/{world.ticket.reference}/attachments/not-a-uuid/",
    ]
    for url in urls:
        _body(client.get(url))
        client.post(url, {"body": "\x00"})
    assert Comment.objects.count() == 1
    assert Contact.objects.count() == 1
