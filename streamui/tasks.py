"""Ending a background task: cancel it and wait until it has unwound (its `finally` blocks ran)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (if any, and not done) and wait for it; its CancelledError is not ours."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = ["cancel_and_wait"]
