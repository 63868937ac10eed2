"""``marsad demo``: the README's main job on the bundled inputs.

* :mod:`marsad.demo.runner` — the demo's steps (stack, templates, crawl with Airflow, consume, search, alerts, replay);
* :mod:`marsad.demo.site` — the local "news web" built from the test corpus (or the shipped ``sample_site/``);
* :mod:`marsad.demo.server` — its HTTP server on 127.0.0.1;
* :mod:`marsad.demo.airflow` — ``airflow dags test`` in a child process (also used by the DAG tests).
"""
