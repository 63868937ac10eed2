"""Index consumer: articles → stories in Elasticsearch. ``python consumers/index.py [--until-idle]``.

Settings from ``MARSAD_*`` (src/marsad/settings.py). Same as ``marsad consume index``.
"""

import sys

from marsad.observability import setup_logging
from marsad.pipeline import index_worker
from marsad.settings import load_settings

if __name__ == "__main__":
    setup_logging()
    stats = index_worker(load_settings()).run(until_idle="--until-idle" in sys.argv)
    print(stats.as_dict())
