"""Conversations, their messages, and a record of every stream for the figures."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.public_id}"


class ChatMessage(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete"
        STREAMING = "streaming"
        STOPPED = "stopped"  # the user pressed Stop
        INTERRUPTED = "interrupted"  # the tab went away or the upstream failed

    conversation = models.ForeignKey(Conversation, related_name="messages", on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    mode = models.CharField(max_length=8, default="chat")  # "chat" (markdown) or "json" (widgets)
    tool_calls = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    @property
    def is_incomplete(self) -> bool:
        return self.status in (self.Status.STOPPED, self.Status.INTERRUPTED, self.Status.STREAMING)


class StreamRecord(models.Model):
    class EndReason(models.TextChoices):
        DONE = "done"
        STOPPED = "stopped"
        DISCONNECTED = "disconnected"
        ERROR = "error"

    stream_id = models.CharField(max_length=64, unique=True)
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.OneToOneField(ChatMessage, null=True, blank=True, on_delete=models.SET_NULL)
    session_key = models.CharField(max_length=64, blank=True)
    upstream = models.CharField(max_length=100)
    profile = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=200, blank=True)
    strategy = models.CharField(max_length=50, blank=True)
    arm = models.CharField(max_length=50, blank=True)
    commit_policy = models.CharField(max_length=50, blank=True)
    policy_arm = models.CharField(max_length=50, blank=True)
    hold_p50_ms = models.FloatField(null=True, blank=True)  # what the commit stage held text back
    hold_p95_ms = models.FloatField(null=True, blank=True)
    hold_max_ms = models.FloatField(null=True, blank=True)
    corrections = models.IntegerField(default=0)
    started_at = models.DateTimeField()
    # Milliseconds since the prompt reached the server.
    first_upstream_token_ms = models.FloatField(null=True, blank=True)
    first_reasoning_ms = models.FloatField(null=True, blank=True)
    first_visible_token_ms = models.FloatField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    completion_delay_ms = models.FloatField(null=True, blank=True)  # last reveal minus last arrival
    arrival_gaps_ms = models.JSONField(default=list, blank=True)
    reveal_gaps_ms = models.JSONField(default=list, blank=True)
    timeline = models.JSONField(default=dict, blank=True)  # {"arrivals": [[ms, chars]], "reveals": [...]}
    tokens_generated = models.IntegerField(default=0)
    tokens_generated_source = models.CharField(max_length=16, blank=True)  # "usage" or "tiktoken"
    tokens_shown = models.IntegerField(default=0)
    chars_shown = models.IntegerField(default=0)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    stop_received_at = models.FloatField(null=True, blank=True)  # epoch seconds, for cancel latency
    client_timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.stream_id} {self.upstream} {self.end_reason}"
