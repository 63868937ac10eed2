"""Keyword alerts at ingest time: rules stored as percolator queries, percolation of new stories, alert events,
webhook delivery. Design and guarantees: ``docs/alerts.md``."""
