"""Conversations per owner (a logged-in user, or the session of an anonymous visitor)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async

from .conf import get_settings
from .models import ChatMessage, Conversation
from .upstream.base import Message


@dataclass(frozen=True, slots=True)
class Owner:
    user_id: int | None
    session_key: str | None

    @classmethod
    def from_request(cls, request: Any) -> Owner:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls(user.pk, None)
        session = request.session
        if not session.session_key:
            session.save()  # an anonymous visitor needs a key for their conversations
        return cls(None, session.session_key)

    @classmethod
    def from_scope(cls, scope: dict[str, Any]) -> Owner | None:
        user = scope.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            return cls(user.pk, None)
        session = scope.get("session")
        key = getattr(session, "session_key", None)
        return cls(None, key) if key else None

    def filter(self) -> dict[str, Any]:
        if self.user_id is not None:
            return {"user_id": self.user_id}
        return {"user__isnull": True, "session_key": self.session_key}

    def stream_filter(self) -> dict[str, Any]:
        """StreamRecord lookups for this owner's streams (a record keeps the session key, or its
        conversation the user)."""
        if self.user_id is not None:
            return {"conversation__user_id": self.user_id}
        return {"session_key": self.session_key}

    def fields(self) -> dict[str, Any]:
        return {"user_id": self.user_id} if self.user_id is not None else {"session_key": self.session_key or ""}


def latest_conversation(owner: Owner) -> Conversation | None:
    return Conversation.objects.filter(**owner.filter()).first()


def find_conversation(owner: Owner, public_id: str) -> Conversation | None:
    try:
        uuid.UUID(public_id)
    except (ValueError, AttributeError, TypeError):
        return None
    return Conversation.objects.filter(public_id=public_id, **owner.filter()).first()


def new_conversation(owner: Owner, title: str = "") -> Conversation:
    return Conversation.objects.create(title=title[:200], **owner.fields())


def history(conversation: Conversation, *, exclude_id: int | None = None) -> list[Message]:
    """The earlier turns to send upstream: interrupted answers are marked as such, never passed off as complete."""
    config = get_settings()
    limit = config.history_messages
    rows = list(conversation.messages.exclude(pk=exclude_id or 0).order_by("-created_at", "-id")[:limit])
    messages: list[Message] = []
    for row in reversed(rows):
        content = row.content
        if row.role == ChatMessage.Role.ASSISTANT and row.is_incomplete:
            content = f"{content}\n\n{config.interrupted_note}".strip()
        if content:
            messages.append(Message(row.role, content))  # type: ignore[arg-type]
    return bound_history(messages, int(config.history_max_tokens))


async def anew_conversation(owner: Owner, title: str = "") -> Conversation:
    return await Conversation.objects.acreate(title=title[:200], **owner.fields())


async def ahistory(conversation: Conversation, *, exclude_id: int | None = None) -> list[Message]:
    return await sync_to_async(history)(conversation, exclude_id=exclude_id)


HISTORY_CUT_NOTE = "[earlier part cut]"


def bound_history(messages: list[Message], max_tokens: int) -> list[Message]:
    """The newest turns that fit in `max_tokens` (tiktoken), oldest dropped first (review 4.11);
    a turn that does not fit whole keeps its end, marked as cut."""
    from .upstream.tokens import encoding

    enc = encoding()
    kept: list[Message] = []
    budget = max_tokens
    for message in reversed(messages):
        if budget <= 0:
            break
        tokens = enc.encode(message.content, disallowed_special=())
        if len(tokens) <= budget:
            kept.append(message)
            budget -= len(tokens)
            continue
        tail = enc.decode(tokens[-budget:]) if budget > 8 else ""
        if tail:
            kept.append(Message(message.role, f"{HISTORY_CUT_NOTE} {tail}"))
        break
    return list(reversed(kept))


__all__ = ["Owner", "ahistory", "anew_conversation", "bound_history", "find_conversation",
           "history", "latest_conversation", "new_conversation"]
