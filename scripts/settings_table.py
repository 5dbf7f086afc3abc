"""Print the README's settings table from streamui.conf.SETTINGS (the one place settings are declared).

Usage: python scripts/settings_table.py   (paste over the table under "## Settings" in README.md;
tests/settings/test_settings.py fails while the two differ)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamui.conf import SETTINGS, default_of


def table() -> str:
    rows = ["| setting | default | what it does |", "|---|---|---|"]
    rows += [f"| `{key}` | `{default_of(key)!r}` | {spec.doc} |" for key, spec in SETTINGS.items()]
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
