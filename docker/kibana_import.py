"""Import Kibana saved objects (``kibana/*.ndjson``) through the Kibana API; the ``kibana-setup`` service.

``python kibana_import.py [--url http://kibana:5601] [--dir /opt/marsad/kibana] [--wait-s 300]``

Waits until ``GET /api/status`` answers 200, then ``POST /api/saved_objects/_import?overwrite=true``
(multipart field ``file``, header ``kbn-xsrf``) once per ``*.ndjson`` file, in name order. A missing or
empty directory is not an error (nothing to import, exit 0). Exit 1 when Kibana never becomes ready or an
import is rejected. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

IMPORT_PATH = "/api/saved_objects/_import?overwrite=true"
STATUS_PATH = "/api/status"


def ndjson_files(directory: Path) -> list[Path]:
    """``*.ndjson`` files of ``directory`` in name order; ``[]`` when it is missing or empty."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.ndjson") if p.is_file())


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    """Body and content type of a ``multipart/form-data`` request with one file field ``file``."""
    boundary = f"marsad-{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + content + tail, f"multipart/form-data; boundary={boundary}"


def wait_ready(url: str, wait_s: float, interval_s: float = 5.0) -> bool:
    """True once ``GET <url>/api/status`` answers 200 (within ``wait_s`` seconds)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(url + STATUS_PATH, timeout=10) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def import_file(url: str, path: Path) -> dict:
    """POST one ndjson file to the saved-objects import API; returns Kibana's JSON answer."""
    body, ctype = multipart(path.name, path.read_bytes())
    req = urllib.request.Request(url + IMPORT_PATH, data=body, method="POST",
                                 headers={"kbn-xsrf": "true", "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        return {"success": False, "errors": [f"HTTP {exc.code}: {detail}"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://kibana:5601", help="Kibana base URL")
    ap.add_argument("--dir", default="/opt/marsad/kibana", type=Path, help="folder of *.ndjson saved objects")
    ap.add_argument("--wait-s", default=300.0, type=float, help="how long to wait for Kibana (seconds)")
    args = ap.parse_args(argv)
    url = args.url.rstrip("/")

    files = ndjson_files(args.dir)
    if not files:
        print(f"kibana-setup: no *.ndjson in {args.dir}, nothing to import")
        return 0
    if not wait_ready(url, args.wait_s):
        print(f"kibana-setup: Kibana at {url} not ready after {args.wait_s:.0f} s", file=sys.stderr)
        return 1
    failed = 0
    for path in files:
        answer = import_file(url, path)
        if answer.get("success"):
            print(f"kibana-setup: {path.name}: imported {answer.get('successCount', 0)} objects")
        else:
            failed += 1
            print(f"kibana-setup: {path.name}: import failed: {answer.get('errors')}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
