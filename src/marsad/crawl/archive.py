"""Rolling WARC archive of every fetched response (warcio), so any crawl can be replayed with ``ingest-warc``.

Files: ``<warc_dir>/marsad-<UTC yyyymmddHHMMSS>-<pid>-<n>.warc.gz`` (one gzip member per record, WARC/1.0),
written as ``….warc.gz.open`` and renamed when closed (Heritrix convention), so a reader never sees a file
that is still growing; a file left ``.open`` by a process that died is renamed by the next archive opened in
the same directory (:func:`recover_stale`). A file is rolled once it reaches ``settings.warc_roll_bytes``. Each process
writes its
own files (the pid is in the name), so Airflow tasks never share a file.

Each fetched response gives a ``request`` record and a ``response`` record (linked by ``WARC-Concurrent-To``).
The payload is stored **decoded** (after gzip/deflate): the original ``Content-Encoding``,
``Transfer-Encoding`` and ``Content-Length`` headers are kept as ``X-Crawler-…`` and ``Content-Length`` is the
stored length — Common Crawl's convention since 2018 — so a replay never inflates anything.
"""

from __future__ import annotations

import itertools
import logging
import os
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

log = logging.getLogger(__name__)

_SEQ = itertools.count()
"""File number within this process (names stay unique when several archives are opened in one process)."""

_RENAMED = ("content-encoding", "transfer-encoding", "content-length")


_PRINTABLE_ASCII = "".join(chr(i) for i in range(32, 127))


def _ascii(value: str) -> str:
    """``value`` with every non-ASCII character percent-encoded as UTF-8: warcio writes headers as ASCII and
    raises on anything else (a ``Link: <…/خبر>`` header sent as raw UTF-8, which httpx decodes as such)."""
    return value if value.isascii() else quote(value, safe=_PRINTABLE_ASCII)


def warc_date(when: datetime) -> str:
    """``WARC-Date`` (WARC/1.0 §5.4: UTC, second precision) of an aware datetime."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def recover_stale(directory: Path) -> list[Path]:
    """Give their final name to the ``.warc.gz.open`` files of ``directory`` whose writer process is gone (killed,
    OOM, a crashed Airflow task): without this they stayed ``.open`` forever, invisible to whatever collects the
    closed files. Every record was flushed as its own gzip member, so the file reads up to its last whole record (a
    record cut short is skipped as ``skipped:truncated`` by ``ingest-warc``). Returns the recovered files."""
    out = []
    for tmp in sorted(Path(directory).glob("marsad-*.warc.gz.open")):
        parts = tmp.name.split("-")
        try:
            pid = int(parts[2])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or _pid_alive(pid):
            continue
        final = tmp.with_name(tmp.name[: -len(".open")])
        try:
            os.replace(tmp, final)
        except FileNotFoundError:  # another process recovered it first
            continue
        log.warning("WARC file left open by dead process %d recovered: %s", pid, final)
        out.append(final)
    return out


class WarcArchive:
    """``write(...)`` appends a request/response pair; ``close()`` closes (and renames) the current file."""

    def __init__(self, directory: Path, roll_bytes: int, *, software: str = "marsad") -> None:
        self.directory = Path(directory)
        self.roll_bytes = roll_bytes
        self.software = software
        self._fh: BinaryIO | None = None
        self._writer: WARCWriter | None = None
        self._path: Path | None = None
        self.files: list[Path] = []
        """Files closed so far (final names)."""
        self.records = 0

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        recover_stale(self.directory)
        ts = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        self._path = self.directory / f"marsad-{ts}-{os.getpid()}-{next(_SEQ)}.warc.gz"
        self._fh = open(self._path.with_name(self._path.name + ".open"), "wb")
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.0")
        info = self._writer.create_warcinfo_record(self._path.name, {
            "software": self.software, "format": "WARC File Format 1.0",
            "conformsTo": "https://iso.org/standard/68004.html",
        })
        self._writer.write_record(info)

    def write(self, *, url: str, fetched_at: datetime, request_headers: list[tuple[str, str]], status: int,
              reason: str, http_version: str, response_headers: list[tuple[str, str]], body: bytes,
              ip: str | None = None) -> None:
        """Append the request and response records of one fetched response (``body`` decoded, bytes). ``url`` must
        be ASCII (percent-encoded, as the request sent it): warcio writes WARC headers as ASCII."""
        url = _ascii(url)
        if self._writer is None:
            self._open()
        assert self._writer is not None and self._fh is not None
        date = warc_date(fetched_at)
        headers = []
        for k, v in response_headers:
            v = _ascii(v)
            headers.append((f"X-Crawler-{k}", v) if k.lower() in _RENAMED else (k, v))
        headers.append(("Content-Length", str(len(body))))
        proto = "HTTP/1.0" if http_version == "HTTP/1.0" else "HTTP/1.1"
        http = StatusAndHeaders(f"{status} {_ascii(reason)}".strip(), headers, protocol=proto)
        request_headers = [(k, _ascii(v)) for k, v in request_headers]
        warc_headers = {"WARC-Date": date}
        if ip:
            warc_headers["WARC-IP-Address"] = ip
        resp = self._writer.create_warc_record(url, "response", payload=BytesIO(body), http_headers=http,
                                               warc_headers_dict=warc_headers)
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        req_http = StatusAndHeaders(f"GET /{path} HTTP/1.1", request_headers, protocol="", is_http_request=True)
        req = self._writer.create_warc_record(url, "request", payload=BytesIO(b""), http_headers=req_http,
                                              warc_headers_dict={"WARC-Date": date})
        req.rec_headers.add_header("WARC-Concurrent-To", resp.rec_headers.get_header("WARC-Record-ID"))
        self._writer.write_record(resp)
        self._writer.write_record(req)
        self.records += 1
        self._fh.flush()
        if self._fh.tell() >= self.roll_bytes:
            self.close()

    def close(self) -> None:
        """Close the current file and give it its final name (no-op when none is open)."""
        if self._fh is None or self._path is None:
            return
        self._fh.close()
        os.replace(self._path.with_name(self._path.name + ".open"), self._path)
        self.files.append(self._path)
        log.info("WARC file closed: %s", self._path)
        self._fh = self._writer = self._path = None
