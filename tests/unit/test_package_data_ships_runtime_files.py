"""What the package reads at run time is inside the package and declared as package data, so ``pip install marsad``
(a wheel, not the source checkout) can apply the index templates, load the demo alert rules and serve the sample site.

Checked by hand too: a wheel built with ``pip wheel --no-deps .`` and installed into a throwaway venv answers
``marsad templates apply --help`` and loads the templates and rules from ``site-packages``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import marsad
from marsad.alerts.demo import DEMO_RULES
from marsad.demo.site import SAMPLE_DIR
from marsad.index.templates import TEMPLATES_DIR
from marsad.text.fold import DATA_FILE

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(marsad.__file__).resolve().parent


def _declared() -> set[Path]:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["marsad"]
    return {p.resolve() for g in globs for p in PACKAGE.glob(g) if p.is_file()}


def test_runtime_data_lives_inside_the_package() -> None:
    for path in (TEMPLATES_DIR, DEMO_RULES, SAMPLE_DIR, DATA_FILE):
        assert path.resolve().is_relative_to(PACKAGE), f"{path} is outside {PACKAGE}: a wheel would not have it"


def test_every_data_file_in_the_package_is_declared() -> None:
    files = {p.resolve() for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
             and "__pycache__" not in p.parts}
    assert files, "no data files found"
    assert not files - _declared(), f"not in [tool.setuptools.package-data]: {sorted(files - _declared())}"


def test_templates_and_rules_load_from_the_package() -> None:
    assert {p.name for p in TEMPLATES_DIR.glob("*.json")} == {
        "stories.json", "fingerprints.json", "alert-rules.json", "alerts-sent.json"}
    assert DEMO_RULES.is_file()
