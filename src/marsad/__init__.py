"""Marsad (مرصد): an Arabic news monitoring pipeline.

Airflow crawls publish raw pages to Kafka; consumers extract articles with trafilatura,
deduplicate them into stories and index them into Elasticsearch with an Arabic analyzer.
"""

__version__ = "0.1.0"
