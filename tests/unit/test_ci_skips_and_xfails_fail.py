"""With ``CI=true`` nothing passes by not running: a skip at collection time (module-level
``pytest.importorskip``), a skip inside a test, an xfail that fails and an xfail that passes all fail the run.
Without ``CI`` skips and expected failures stay allowed, but an xfail that passes always fails (``xfail_strict``).

Each case runs pytest in a subprocess on a tiny test file, with the repository's pytest configuration
(``pyproject.toml``) and the suite's own hooks (a ``conftest.py`` importing ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CASES = {
    "module_importorskip": 'import pytest\npytest.importorskip("marsad_no_such_module_for_ci_test")\n\n'
                           "def test_never_runs():\n    assert False\n",
    "skip_inside_test": "import pytest\n\ndef test_skips():\n    pytest.skip('no service')\n",
    "skipif_marker": "import pytest\n\n@pytest.mark.skipif(True, reason='data absent')\ndef test_marked():\n    pass\n",
    "xfail_that_fails": "import pytest\n\n@pytest.mark.xfail(reason='known bug')\ndef test_known_bug():\n"
                        "    assert 1 == 2\n",
    "xfail_that_passes": "import pytest\n\n@pytest.mark.xfail(reason='known bug')\ndef test_fixed_bug():\n"
                         "    assert 1 == 1\n",
    "xfail_not_strict_passes": "import pytest\n\n@pytest.mark.xfail(reason='flaky', strict=False)\n"
                               "def test_flaky():\n    assert True\n",
}


def _run(tmp_path: Path, case: str, ci: bool) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F401,F403 - the suite's own hooks\n")
    test_file = tmp_path / f"test_{case}.py"
    test_file.write_text(CASES[case])
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    assert True\n")  # the run is not empty
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"), "--rootdir",
                           str(tmp_path), "-p", "no:cacheprovider", "-q", str(test_file), str(tmp_path / "test_ok.py")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


@pytest.mark.parametrize("case", sorted(CASES))
def test_under_ci_every_skip_and_xfail_fails_the_run(tmp_path: Path, case: str) -> None:
    result = _run(tmp_path, case, ci=True)
    assert result.returncode in (1, 2), result.stdout[-3000:] + result.stderr[-2000:]  # 1 failed, 2 collection error


@pytest.mark.parametrize(("case", "code"), [("module_importorskip", 0), ("skip_inside_test", 0),
                                            ("skipif_marker", 0), ("xfail_that_fails", 0),
                                            ("xfail_that_passes", 1), ("xfail_not_strict_passes", 0)])
def test_outside_ci_skips_are_allowed_and_xfail_is_strict(tmp_path: Path, case: str, code: int) -> None:
    result = _run(tmp_path, case, ci=False)
    assert result.returncode == code, result.stdout[-3000:] + result.stderr[-2000:]
