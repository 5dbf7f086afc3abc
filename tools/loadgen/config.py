"""What the parent tells the client process (JSON on its stdin)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(slots=True)
class ClientConfig:
    base_url: str
    clients: int
    prompts: list[str]
    upstream: str
    strategy: str
    ramp: float  # seconds over which the prompts are sent
    duration: float  # hard cap on this process's whole run
    widget_prefix: str = "su-wload"
    figures: bool = False  # ask for live figures, as the playground does (the drop-in widget does not)
    ws_path: str = "/ws/streamui/chat/{widget}/"  # the floor run: tools.loadgen.asgi.FLOOR_PATH + its query

    @classmethod
    def from_json(cls, raw: str) -> ClientConfig:
        return cls(**json.loads(raw))

    def to_json(self) -> str:
        return json.dumps(asdict(self))


__all__ = ["ClientConfig"]
