"""HTTP views of the streamui app."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse

from .conversations import Owner
from .models import StreamRecord

_RECORD_FIELDS = (
    "stream_id", "upstream", "profile", "model", "strategy", "arm", "first_upstream_token_ms",
    "first_reasoning_ms", "first_visible_token_ms", "duration_ms", "tokens_generated",
    "tokens_generated_source", "tokens_shown", "chars_shown", "end_reason", "error_kind", "error_message",
    "stop_received_at", "arrival_gaps_ms", "reveal_gaps_ms", "client_timings",
)


def stream_record(request: HttpRequest, stream_id: str) -> JsonResponse:
    """One stream's record, for its owner only."""
    owner = Owner.from_request(request)
    records = StreamRecord.objects.filter(stream_id=stream_id)
    if owner.user_id is not None:
        records = records.filter(conversation__user_id=owner.user_id)
    else:
        records = records.filter(session_key=owner.session_key)
    record = records.first()
    if record is None:
        raise Http404("no such stream")
    return JsonResponse({name: getattr(record, name) for name in _RECORD_FIELDS})
