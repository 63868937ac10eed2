"""Crash-point injection for fault tests: a consumer *process* kills itself (SIGKILL) or waits at a named point.

Only tests set :attr:`marsad.settings.Settings.fault_points` (env ``MARSAD_FAULT_POINTS``, a JSON object
``{"<point>": "<action>"}``); with the default (empty) every :func:`point` call is a dictionary lookup and returns.
Actions:

* ``kill`` (or ``kill@N``: on the N-th time the point is reached) — ``SIGKILL`` to the own process,
  exactly as ``kill -9`` from a supervisor: no ``finally``, no flush, no
  offset commit, no consumer-group leave. The log line before it says which point was hit.
* ``wait:<path>`` — create ``<path>.reached.<pid>`` and block until ``<path>`` exists (a barrier the test opens, used
  to make two consumers race deterministically, e.g. both plan before either writes).

Points of the index stage (:mod:`marsad.index.stage`), in batch order: ``index.planned`` (decisions computed,
nothing written), ``index.claimed`` (claims with their decisions created, no story written), ``index.written``
(story bulk acknowledged), ``index.fold.retargeted`` / ``index.fold.moved`` (inside a race-repair fold: claim
retargeted; republications moved, folded story not yet deleted), ``index.repaired``, ``index.alerted`` (everything
done, offsets not yet committed).
Point of every consumer (:mod:`marsad.kafka.worker`): ``kafka.consumer.close`` (in the thread that calls librdkafka's
``close()`` at exit; a ``wait`` there stands for a ``close()`` that never returns).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

from marsad.settings import Settings

log = logging.getLogger(__name__)

POLL_S = 0.05
"""How often a ``wait`` action looks for its release file (seconds)."""


_hits: dict[str, int] = {}


def point(settings: Settings, name: str) -> None:
    """Run the actions configured for fault point ``name`` (see module docstring); nothing when none is set.

    Several actions are separated by commas and run in order (``wait:/tmp/b,kill``); ``kill@N`` kills on the N-th
    time the point is reached in this process (``kill`` = ``kill@1``). Raises ``ValueError`` for an unknown action
    (a typo in a test's environment must not pass silently)."""
    spec = settings.fault_points.get(name) if settings.fault_points else None
    if not spec:
        return
    _hits[name] = _hits.get(name, 0) + 1
    for action in spec.split(","):
        action = action.strip()
        if action == "kill" or action.startswith("kill@"):
            if _hits[name] != int(action.partition("@")[2] or 1):
                continue
            log.warning("fault point %s: SIGKILL to pid %d", name, os.getpid())
            for h in logging.getLogger().handlers:
                h.flush()
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)  # SIGKILL to oneself is delivered before kill() returns; never reached
        elif action.startswith("wait:"):
            release = Path(action[len("wait:"):])
            Path(f"{release}.reached.{os.getpid()}").touch()
            log.warning("fault point %s: waiting for %s", name, release)
            while not release.exists():
                time.sleep(POLL_S)
        else:
            raise ValueError(f"fault point {name}: unknown action {action!r} (use 'kill', 'kill@N' or 'wait:<path>')")
