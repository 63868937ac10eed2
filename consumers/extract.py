"""Extract consumer: raw pages → articles. ``python consumers/extract.py [--until-idle]``.

Settings from ``MARSAD_*`` (src/marsad/settings.py). Same as ``marsad consume extract``.
"""

import sys

from marsad.observability import setup_logging
from marsad.pipeline import extract_worker
from marsad.settings import load_settings

if __name__ == "__main__":
    setup_logging()
    stats = extract_worker(load_settings()).run(until_idle="--until-idle" in sys.argv)
    print(stats.as_dict())
