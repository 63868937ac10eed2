"""Gold sets, scorers and harnesses that measure Marsad (extraction, story grouping, search, fuzzing).

Test code, not package code: the quality gates (``tests/quality``), some unit and integration tests, and the
``benchmarks/*`` scripts import it; ``pip install marsad`` does not ship it.
"""
