"""The JSON Schema the structured-output demo asks for; it also drives the widgets' labels and order."""

from __future__ import annotations

from typing import Any

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Answer",
    "properties": {
        "title": {"type": "string", "title": "Title"},
        "confidence": {"type": "number", "title": "Confidence"},
        "answer": {"type": "string", "title": "Answer"},
        "sources": {
            "type": "array",
            "title": "Sources",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "title": "Title"},
                    "url": {"type": "string", "format": "uri", "title": "Link"},
                },
                "required": ["title", "url"],
                "additionalProperties": False,
            },
        },
        "follow_up": {"type": "array", "title": "Follow-up questions", "items": {"type": "string"}},
        "needs_review": {"type": "boolean", "title": "Needs review"},
    },
    "required": ["title", "confidence", "answer", "sources", "follow_up", "needs_review"],
    "additionalProperties": False,
}


def response_format(schema: dict[str, Any] = ANSWER_SCHEMA, name: str = "answer") -> dict[str, Any]:
    """OpenAI's `response_format` for structured output (vLLM, llama.cpp and Ollama accept it too)."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


__all__ = ["ANSWER_SCHEMA", "response_format"]
