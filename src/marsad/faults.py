"""Crash-point injection for fault tests: a consumer *process* kills itself (SIGKILL) or waits at a named point.

Only tests set :attr:`marsad.settings.Settings.fault_points` (env ``MARSAD_FAULT_POINTS``, a JSON object
``{"<point>": "<action>"}``); with the default (empty) every :func:`point` call is a dictionary lookup and returns.
Actions:

* ``kill`` — ``SIGKILL`` to the own process, exactly as ``kill -9`` from a supervisor: no ``finally``, no flush, no
  offset commit, no consumer-group leave. The log line before it says which point was hit.
* ``wait:<path>`` — create ``<path>.reached.<pid>`` and block until ``<path>`` exists (a barrier the test opens, used
  to make two consumers race deterministically, e.g. both plan before either writes).

Points of the index stage (:mod:`marsad.index.stage`), in batch order: ``index.planned`` (decisions computed,
nothing written), ``index.claimed`` (claims with their decisions created, no story written), ``index.written``
(story bulk acknowledged), ``index.fold.retargeted`` / ``index.fold.moved`` (inside a race-repair fold: claim
retargeted; republications moved, folded story not yet deleted), ``index.repaired``, ``index.alerted`` (everything
done, offsets not yet committed).
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


def point(settings: Settings, name: str) -> None:
    """Run the action configured for fault point ``name`` (see module docstring); nothing when none is set.

    Raises ``ValueError`` for an unknown action (a typo in a test's environment must not pass silently)."""
    action = settings.fault_points.get(name) if settings.fault_points else None
    if not action:
        return
    if action == "kill":
        log.warning("fault point %s: SIGKILL to pid %d", name, os.getpid())
        for h in logging.getLogger().handlers:
            h.flush()
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)  # never reached: SIGKILL is not deliverable-later
    elif action.startswith("wait:"):
        release = Path(action[len("wait:"):])
        Path(f"{release}.reached.{os.getpid()}").touch()
        log.warning("fault point %s: waiting for %s", name, release)
        while not release.exists():
            time.sleep(POLL_S)
    else:
        raise ValueError(f"fault point {name}: unknown action {action!r} (use 'kill' or 'wait:<path>')")
