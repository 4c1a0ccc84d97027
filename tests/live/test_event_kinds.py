"""Event kinds reach the JavaScript by name: each live page carries them as json_script, and
the scripts compare against ``KINDS.NAME``, never against a bare string."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tickets.live.kinds import event_kinds

JS = Path(__file__).resolve().parents[2] / "static" / "js"
KINDS_SCRIPT = re.compile(r'<script id="event-kinds" type="application/json">(.*?)</script>')


def page_kinds(html: str) -> dict[str, str]:
    [found] = KINDS_SCRIPT.findall(html)
    return json.loads(found)


@pytest.mark.parametrize("page", ["dashboard", "list", "detail"])
def test_every_live_page_carries_the_event_kinds(agent_client, ticket_a, page):
    url = {"dashboard": "/dashboard/", "list": "/tickets/", "detail": ticket_a.get_absolute_url()}
    response = agent_client.get(url[page])
    assert response.status_code == 200
    assert page_kinds(response.content.decode()) == event_kinds()
    assert event_kinds()["CREATED"] == "created"


def test_the_scripts_compare_kinds_by_name_only():
    sources = {path.name: path.read_text() for path in JS.glob("*.js")}
    bare = {
        name: found
        for name, text in sources.items()
        if (found := re.findall(r"\bkind\s*[!=]==?\s*[\"']", text))
    }
    assert bare == {}
    used = {name for text in sources.values() for name in re.findall(r"KINDS\.([A-Z_]+)", text)}
    assert used, "no script reads a kind by name"
    assert used <= set(event_kinds())
