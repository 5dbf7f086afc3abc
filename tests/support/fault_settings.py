"""The demo's settings plus STREAMUI keys from the environment, for Daphne processes under fault tests.

`STREAMUI_TEST_SETTINGS` holds a JSON object laid over the demo's STREAMUI dict (short grace,
short lease, small caps), so each real-process test sets only what it exercises. Keys this
version of streamui does not know are dropped, so the same tests run against older code
(to show they fail there).
"""

import json
import os

from demo.settings import *  # noqa: F403
from demo.settings import STREAMUI as _DEMO

_WANTED = json.loads(os.environ.get("STREAMUI_TEST_SETTINGS", "{}"))
try:
    from streamui.conf import SETTINGS as _KNOWN
except ImportError:  # before the typed Settings: the DEFAULTS dict
    from streamui.conf import DEFAULTS as _KNOWN

_WANTED = {k: v for k, v in _WANTED.items() if k in _KNOWN}

STREAMUI = {**_DEMO, **_WANTED}
