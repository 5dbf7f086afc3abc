"""A stream's record (GET /streamui/streams/<id>/) is served only to the visitor who started it.

The websocket and SSE sides of ownership are tested elsewhere (tests/consumer/test_resume.py,
tests/test_sse.py, and the fuzzer here aims resume/stop/timing at another session's live stream);
this is the JSON endpoint, for anonymous sessions and for logged-in users.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils.timezone import now

from streamui.models import Conversation, StreamRecord

pytestmark = pytest.mark.django_db


def visitor() -> tuple[Client, str]:
    client = Client()
    client.get("/")  # the widget saves a session for an anonymous visitor
    return client, client.cookies["sessionid"].value


def record(stream_id: str, *, session_key: str = "", user: User | None = None) -> None:
    conversation = Conversation.objects.create(session_key=session_key if user is None else "", user=user)
    StreamRecord.objects.create(
        stream_id=stream_id,
        conversation=conversation,
        session_key=session_key,
        upstream="simulated:steady",
        started_at=now(),
    )


def test_an_anonymous_visitors_record_is_theirs_alone() -> None:
    owner, owner_key = visitor()
    other, _ = visitor()
    record("s-anon", session_key=owner_key)
    assert owner.get("/streamui/streams/s-anon/").json()["stream_id"] == "s-anon"
    assert other.get("/streamui/streams/s-anon/").status_code == 404
    assert Client().get("/streamui/streams/s-anon/").status_code == 404  # no session at all
    # Unknown and foreign look the same: no way to probe which stream ids exist.
    assert other.get("/streamui/streams/no-such-stream/").status_code == 404


def test_a_users_record_is_theirs_alone() -> None:
    alice = User.objects.create_user("alice", password="pw-alice-1")
    User.objects.create_user("bob", password="pw-bob-1")
    record("s-alice", user=alice)
    as_alice, as_bob = Client(), Client()
    assert as_alice.login(username="alice", password="pw-alice-1")
    assert as_bob.login(username="bob", password="pw-bob-1")
    assert as_alice.get("/streamui/streams/s-alice/").status_code == 200
    assert as_bob.get("/streamui/streams/s-alice/").status_code == 404
    anonymous, _ = visitor()
    assert anonymous.get("/streamui/streams/s-alice/").status_code == 404
    # A user's records carry no session key: an anonymous session with an empty key must not match them.
    assert Client().get("/streamui/streams/s-alice/").status_code == 404
