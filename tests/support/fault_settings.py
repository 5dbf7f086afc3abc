"""The demo's settings plus STREAMUI keys from the environment, for Daphne processes under fault tests.

`STREAMUI_TEST_SETTINGS` holds a JSON object laid over the demo's STREAMUI dict (short grace,
short lease, small caps), so each real-process test sets only what it exercises.
"""

import json
import os

from demo.settings import *  # noqa: F403
from demo.settings import STREAMUI as _DEMO

STREAMUI = {**_DEMO, **json.loads(os.environ.get("STREAMUI_TEST_SETTINGS", "{}"))}
