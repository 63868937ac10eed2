"""``python -m marsad.cli …`` = ``marsad …`` (benchmarks and tests start consumers this way)."""

from marsad.cli import app

app()
