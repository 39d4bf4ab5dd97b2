"""`splashaudit` in a subprocess with a fake phone behind Appium's session (tests only).

The scenario comes as JSON in SPLASHAUDIT_FAKE_PHONE (see ``fake_drivers.install``); everything else,
the Appium server the command talks to included, is real.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_drivers  # noqa: E402

fake_drivers.install(json.loads(os.environ["SPLASHAUDIT_FAKE_PHONE"]))

from crawler.cli import main  # noqa: E402

main()
