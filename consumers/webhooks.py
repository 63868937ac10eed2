"""Webhook consumer: alert events → each rule's webhook. ``python consumers/webhooks.py [--until-idle]``.

Settings from ``MARSAD_*`` (src/marsad/settings.py). Same as ``marsad alerts deliver``; design: docs/alerts.md.
"""

import sys

from marsad.alerts.webhook import webhook_worker
from marsad.observability import setup_logging
from marsad.settings import load_settings

if __name__ == "__main__":
    setup_logging()
    stats = webhook_worker(load_settings()).run(until_idle="--until-idle" in sys.argv)
    print(stats.as_dict())
