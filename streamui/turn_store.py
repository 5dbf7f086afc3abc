"""The rows a new turn needs, stored as one job of a group commit (issue 9).

Before, a start made five separate async ORM calls (find or create the conversation, read
its history, insert the prompt, the empty answer and the stream's record, touch the
conversation), each a hop to Django's one database thread and most a commit of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, router
from django.utils import timezone

from .conversations import Owner, find_conversation, history, new_conversation
from .models import ChatMessage, Conversation, StreamRecord
from .upstream.base import Message


@dataclass(frozen=True, slots=True)
class TurnRow:
    """What the turn's rows are made of, all decided before the database is touched."""

    owner: Owner
    conversation: str  # the public id the client sent, or ""
    prompt: str
    mode: str
    stream_id: str
    upstream: str
    profile: str
    model: str
    strategy: str
    arm: str
    policy: str
    policy_arm: str


@dataclass(frozen=True, slots=True)
class StoredTurn:
    conversation: Conversation
    history: list[Message]  # the turns before this prompt, as sent upstream
    user_message: ChatMessage
    answer: ChatMessage
    record: StreamRecord


def store_turn(row: TurnRow) -> StoredTurn:
    """Synchronous: run it inside `group_commit.in_batch`, which supplies the transaction."""
    owner = row.owner
    conversation = find_conversation(owner, row.conversation) if row.conversation else None
    if conversation is None:
        # A new conversation has no history to read and was just stamped: two statements fewer.
        conversation, earlier = new_conversation(owner, title=row.prompt[:80]), []
    else:
        earlier = history(conversation)
        conversation.save(update_fields=["updated_at"])
    user_message = ChatMessage(conversation=conversation, role="user", content=row.prompt)
    answer = ChatMessage(conversation=conversation, role="assistant", mode=row.mode,
                         status=ChatMessage.Status.STREAMING)
    if connections[router.db_for_write(ChatMessage)].features.can_return_rows_from_bulk_insert:
        ChatMessage.objects.bulk_create([user_message, answer])  # one INSERT; the ids come back with it
    else:  # MySQL: no RETURNING
        user_message.save()
        answer.save()
    record = StreamRecord.objects.create(
        stream_id=row.stream_id, conversation=conversation, message=answer,
        session_key=owner.session_key or "", upstream=row.upstream, profile=row.profile, model=row.model,
        strategy=row.strategy, arm=row.arm, commit_policy=row.policy, policy_arm=row.policy_arm,
        started_at=timezone.now(),
    )
    return StoredTurn(conversation, earlier, user_message, answer, record)


__all__ = ["StoredTurn", "TurnRow", "store_turn"]
