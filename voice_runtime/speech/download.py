"""Download Vosk speech model archives into ``models/asr/``, resumably.

This is the only module of the package that reaches the network, and only when the
user runs ``voice models download``. A download goes to ``models/asr/.partial/<name>.zip``
(resumed with an HTTP Range request after an interruption) and is checked against the
server's Content-Length and, when the registry knows it, a sha256; ``model_store``
then installs it atomically, so ``models/asr/<name>/`` is either absent or complete.

The registry's sizes come from the download page and are approximate: they are shown
to the user and never used to verify anything. Its checksums (see ``model_store.REGISTRY``
for where they come from) are checked, as is a sha256 the user gives with ``--sha256``
(which takes the registry's place); an entry without either is installed unchecked.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from ..errors import InputError, ModelError
from .model_store import (
    CHUNK,
    MB,
    InstallResult,
    Manifest,
    ModelSpec,
    asr_dir,
    check_name,
    check_replaceable,
    check_space,
    delete_files,
    discard_partial,
    install_archive,
    make_dir,
    one_line,
    partial_paths,
    remove_leftovers,
    sha256_file,
)

if TYPE_CHECKING:
    import aiohttp


BASE_URL_ENV = "VOICE_MODELS_URL"


"""Environment variable that replaces ``DEFAULT_BASE_URL`` (a mirror, or a test server)."""


DEFAULT_TIMEOUT = 30.0


"""Seconds allowed to connect, and between two reads of the response body."""


class Progress(Protocol):
    """Receives download progress (bytes); ``close`` is called on success and failure."""

    def start(self, total: int | None, offset: int) -> None: ...

    def update(self, done: int) -> None: ...

    def close(self, ok: bool) -> None: ...


class NoProgress:
    """A progress sink that shows nothing."""

    def start(self, total: int | None, offset: int) -> None:
        """Ignore the start."""

    def update(self, done: int) -> None:
        """Ignore progress."""

    def close(self, ok: bool) -> None:
        """Ignore the end."""


class TextProgress:
    """A one-line progress bar on a TTY; otherwise a final one-line summary."""

    def __init__(self, name: str, stream: IO[str] | None = None, tty: bool | None = None) -> None:
        self.name = name
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.total: int | None = None
        self.offset = 0
        self.done = 0
        self.started = time.monotonic()
        self.shown = 0.0

    def start(self, total: int | None, offset: int) -> None:
        """A response arrived: ``offset`` bytes were already there, ``total`` expected."""
        self.total, self.offset, self.done = total, offset, offset
        self.started = time.monotonic()

    def update(self, done: int) -> None:
        """``done`` bytes of the archive are on disk; redraws at most 10 times a second."""
        self.done = done
        now = time.monotonic()
        if self.tty and (now - self.shown >= 0.1 or done == self.total):
            self.shown = now
            self.stream.write(f"\r{self.line()}\x1b[K")
            self.stream.flush()

    def close(self, ok: bool) -> None:
        """End the bar's line (TTY) or print the summary (otherwise, on success)."""
        if self.tty and self.shown:
            self.stream.write("\n")
        elif ok and not self.tty:
            self.stream.write(f"{self.line()}\n")
        self.stream.flush()

    def line(self) -> str:
        """``name  45%  18.0/40.0 MB  3.2 MB/s`` (plus where a resume started)."""
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = (self.done - self.offset) / MB / seconds
        percent = f"{100 * self.done / self.total:3.0f}%  " if self.total else ""
        total = f"/{self.total / MB:.1f}" if self.total else ""
        resumed = f"  (resumed at {self.offset / MB:.1f} MB)" if self.offset else ""
        return (
            f"{self.name}  {percent}{self.done / MB:.1f}{total} MB  {rate:.1f} MB/s"
            f"  {seconds:.1f} s{resumed}"
        )


@dataclass(frozen=True)
class _Fetched:
    """A complete archive in the partial directory."""

    path: Path
    size: int
    downloaded: int
    resumed_from: int


def resolve_url(
    spec: ModelSpec,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Where to fetch ``spec``: ``base_url``, else $VOICE_MODELS_URL, else its own URL."""
    env = os.environ if environ is None else environ
    base = base_url or env.get(BASE_URL_ENV)
    url = f"{base.rstrip('/')}/{spec.archive_name}" if base else spec.url
    return check_url(url)


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else InputError."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InputError(f"not an http(s) URL: {url!r}")
    return url


def partial_size(models_dir: Path, name: str) -> int:
    """Bytes of an interrupted download of ``name`` waiting to be resumed (0 if none)."""
    path = partial_paths(models_dir, name)[0]
    return path.stat().st_size if path.is_file() else 0


def install_model(
    models_dir: Path,
    spec: ModelSpec,
    url: str | None = None,
    *,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> InstallResult:
    """Blocking wrapper around ``download_model`` (runs its own event loop)."""
    return asyncio.run(
        download_model(models_dir, spec, url, force=force, timeout=timeout, progress=progress)
    )


async def download_model(
    models_dir: Path,
    spec: ModelSpec,
    url: str | None = None,
    *,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> InstallResult:
    """Download ``spec`` (from ``url``, default its own), check it and install it.

    Raises InputError when the model is already installed (unless ``force``) and
    ModelError for network, server, checksum, archive and disk problems. An
    interrupted download is kept for the next call to resume; a corrupted one is not.
    """
    name = check_name(spec.name)
    url = check_url(url or spec.url)
    dest = asr_dir(models_dir) / name
    check_replaceable(dest, force)
    remove_leftovers(asr_dir(models_dir), name)
    started = time.monotonic()
    fetched = await _fetch(models_dir, name, url, timeout, progress or NoProgress())
    digest = await asyncio.to_thread(sha256_file, fetched.path)
    if spec.sha256 and digest != spec.sha256.lower():
        discard_partial(models_dir, name)
        raise ModelError(
            f"checksum mismatch for {name}: expected sha256 {spec.sha256}, got {digest}; "
            "the download was deleted"
        )
    manifest_base = Manifest(name, spec.language, url, digest, "", ())
    files = await asyncio.to_thread(install_archive, models_dir, fetched.path, manifest_base)
    discard_partial(models_dir, name)
    return InstallResult(
        name=name,
        path=dest,
        sha256=digest,
        archive_bytes=fetched.size,
        downloaded_bytes=fetched.downloaded,
        resumed_from=fetched.resumed_from,
        seconds=time.monotonic() - started,
        files=files,
    )


async def _fetch(
    models_dir: Path, name: str, url: str, timeout: float, progress: Progress
) -> _Fetched:
    """A complete archive at ``.partial/<name>.zip``, resuming what an earlier run left."""
    import aiohttp  # only `voice models download` pays for (and uses) the HTTP client

    partial, sidecar = partial_paths(models_dir, name)
    make_dir(partial.parent)
    offset, total, validator = _resume_state(partial, sidecar, url)
    if total is not None and offset == total:
        return _Fetched(partial, total, 0, offset)  # complete; an earlier install failed later
    client_timeout = aiohttp.ClientTimeout(
        total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
    )
    ok = False
    try:
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            fetched = await _get(session, url, partial, sidecar, offset, validator, progress)
        ok = True
        return fetched
    except aiohttp.ClientConnectorError as exc:
        error = exc.os_error
        reason = os.strerror(error.errno) if error.errno else one_line(error)
        raise ModelError(f"cannot reach {exc.host}:{exc.port} ({reason})") from exc
    except TimeoutError as exc:
        raise _interrupted(name, partial, url, "timed out") from exc
    except aiohttp.ClientPayloadError as exc:
        raise _interrupted(name, partial, url, "was cut short by the server") from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise _interrupted(name, partial, url, "failed: the server disconnected") from exc
    except aiohttp.ClientError as exc:
        raise _interrupted(name, partial, url, f"failed ({one_line(exc)})") from exc
    finally:
        progress.close(ok)


async def _get(
    session: aiohttp.ClientSession,
    url: str,
    partial: Path,
    sidecar: Path,
    offset: int,
    validator: str | None,
    progress: Progress,
) -> _Fetched:
    """One GET (ranged when ``offset``), its body appended to (or replacing) ``partial``."""
    headers = {"Accept-Encoding": "identity"}  # sizes and ranges are of the archive's bytes
    if offset:
        headers["Range"] = f"bytes={offset}-"
    if offset and validator:
        headers["If-Range"] = validator
    async with session.get(url, headers=headers) as response:
        if response.status == 416 and offset:  # the file shrank or changed: start again
            delete_files(partial, sidecar)
            return await _get(session, url, partial, sidecar, 0, None, progress)
        if response.status not in {200, 206}:
            raise ModelError(
                f"download failed: HTTP {response.status} {response.reason or ''}".rstrip()
                + f" from {url}"
            )
        start, total = _body_range(response, offset)
        _save_sidecar(sidecar, url, total, _validator(response))
        check_space(partial.parent, None if total is None else total - start)
        progress.start(total, start)
        size = await _receive(response, partial, start, progress)
    if total is not None and size != total:
        raise ModelError(
            f"download of {partial.stem} ended at {size} of {total} bytes "
            "(Content-Length); run the command again to resume"
        )
    return _Fetched(partial, size, size - start, start)


def _body_range(response: aiohttp.ClientResponse, offset: int) -> tuple[int, int | None]:
    """(where the body starts in the archive, the archive's total size if known).

    A 200 answer to a ranged request means the server ignored the range (or the file
    changed, with If-Range): the download restarts from zero.
    """
    if response.status == 200:
        return 0, response.content_length
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
    if not match or int(match[1]) != offset:
        raise ModelError(
            f"server sent an unusable Content-Range {response.headers.get('Content-Range')!r}"
        )
    total = None if match[3] == "*" else int(match[3])
    return offset, total


async def _receive(
    response: aiohttp.ClientResponse, partial: Path, start: int, progress: Progress
) -> int:
    """Write the body at ``start`` of ``partial`` (truncating after it); the final size."""
    try:
        handle = partial.open("r+b" if start else "wb")
        handle.truncate(start)
        handle.seek(start)
    except OSError as exc:
        raise ModelError(f"cannot write {partial}: {one_line(exc)}") from exc
    done = start
    with handle:
        async for chunk in response.content.iter_chunked(CHUNK):
            _write(handle, chunk, partial)
            done += len(chunk)
            progress.update(done)
    return done


def _write(handle: IO[bytes], chunk: bytes, path: Path) -> None:
    """Append ``chunk`` (a small synchronous write); ModelError on a disk failure."""
    try:
        handle.write(chunk)
    except OSError as exc:
        raise ModelError(f"cannot write {path}: {one_line(exc)}") from exc


def _validator(response: aiohttp.ClientResponse) -> str | None:
    """The strong ETag or the Last-Modified date of a response, for If-Range."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def _interrupted(name: str, partial: Path, url: str, kind: str) -> ModelError:
    """The error for a request that failed (the partial file is kept for a resume)."""
    have = partial.stat().st_size if partial.is_file() else 0
    if have:
        return ModelError(
            f"download of {name} {kind} after {have / MB:.1f} MB; "
            f"run 'voice models download {name}' again to resume"
        )
    return ModelError(f"download of {name} from {url} {kind}")


def _resume_state(partial: Path, sidecar: Path, url: str) -> tuple[int, int | None, str | None]:
    """(bytes to keep, expected total, If-Range validator) of an earlier download.

    A partial file is only resumed when its sidecar says it came from the same URL
    and is not longer than the archive; anything else starts again from zero.
    """
    if not partial.is_file():
        return 0, None, None
    try:
        state = json.loads(sidecar.read_text("utf-8"))
        same = state["url"] == url
        total, validator = state["total"], state["validator"]
    except (OSError, ValueError, KeyError, TypeError):
        same, total, validator = False, None, None
    size = partial.stat().st_size
    if not same or (total is not None and size > total):
        return 0, None, None
    return size, total, validator


def _save_sidecar(sidecar: Path, url: str, total: int | None, validator: str | None) -> None:
    """Remember where the partial download comes from, to resume it safely."""
    text = json.dumps({"url": url, "total": total, "validator": validator})
    try:
        sidecar.write_text(text, "utf-8")
    except OSError as exc:
        raise ModelError(f"cannot write {sidecar}: {one_line(exc)}") from exc
