"""The demo site's settings for a load run with several Daphne processes on one SQLite file.

Only the load generator uses this module (`streamui_load --processes K`, or `--redis`):
WAL lets readers go on while one process writes, the busy timeout makes a writer wait
for the other instead of failing, and IMMEDIATE transactions take the write lock at
BEGIN, so a transaction that read first cannot fail its upgrade with "database is
locked" (a deferred one does, without waiting). Production with several processes
belongs on PostgreSQL; this is what lets the load run measure streamui, not SQLite errors.
"""

from typing import Any

from demo.settings import *  # noqa: F403
from demo.settings import DATABASES

_default: dict[str, Any] = DATABASES["default"]
_default["OPTIONS"] = {
    **_default.get("OPTIONS", {}),
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
}
