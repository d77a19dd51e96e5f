"""Download, install, verify and remove Vosk speech models under ``models/asr/<name>/``.

This is the only module of the package that reaches the network, and only when the
user runs ``voice models download``. A download goes to ``models/asr/.partial/<name>.zip``
(resumed with an HTTP Range request after an interruption), is checked against the
server's Content-Length and, when the registry knows it, a sha256; the archive is then
extracted into a temporary directory inside ``models/asr/`` and renamed into place, so
``models/asr/<name>/`` is either absent or complete. ``manifest.json`` in the model
directory records the archive's sha256 and every installed file's size and sha256,
which is what ``verify_model`` checks later.

The registry's sizes come from the download page and are approximate: they are shown
to the user and never used to verify anything. The real checksums are not known
offline, so the built-in entries have ``sha256=None``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from ..errors import InputError, ModelError

if TYPE_CHECKING:
    import aiohttp

DEFAULT_BASE_URL = "https://alphacephei.com/vosk/models"
BASE_URL_ENV = "VOICE_MODELS_URL"
"""Environment variable that replaces ``DEFAULT_BASE_URL`` (a mirror, or a test server)."""
MANIFEST = "manifest.json"
PARTIAL_DIR = ".partial"
CHUNK = 64 * 1024
MB = 1_000_000
DEFAULT_TIMEOUT = 30.0
"""Seconds allowed to connect, and between two reads of the response body."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class ModelSpec:
    """A downloadable model.

    ``approx_size`` is the size in bytes shown on the download page, or None when
    unknown: it is only displayed, never checked (the server's Content-Length is).
    ``sha256`` is the archive's checksum when known; None means "not checked".
    """

    name: str
    language: str
    url: str
    approx_size: int | None
    sha256: str | None = None

    @property
    def archive_name(self) -> str:
        """The last path segment of the URL (``<name>.zip`` for the registry)."""
        return PurePosixPath(urlsplit(self.url).path).name or f"{self.name}.zip"


REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="vosk-model-small-en-us-0.15",
        language="en",
        url=f"{DEFAULT_BASE_URL}/vosk-model-small-en-us-0.15.zip",
        approx_size=40 * MB,
    ),
    ModelSpec(
        name="vosk-model-small-cn-0.22",
        language="zh",
        url=f"{DEFAULT_BASE_URL}/vosk-model-small-cn-0.22.zip",
        approx_size=42 * MB,
    ),
)


@dataclass(frozen=True)
class InstalledFile:
    """One file of an installed model, relative to the model directory (POSIX path)."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What ``models/asr/<name>/manifest.json`` holds."""

    name: str
    language: str
    url: str
    sha256: str
    installed_at: str
    files: tuple[InstalledFile, ...]

    def to_json(self) -> str:
        """The manifest as indented JSON text."""
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, model_dir: Path) -> Manifest:
        """The manifest of an installed model; ModelError when missing or unreadable."""
        path = model_dir / MANIFEST
        try:
            data = json.loads(path.read_text("utf-8"))
            files = tuple(InstalledFile(**item) for item in data.pop("files"))
            return cls(files=files, **data)
        except FileNotFoundError as exc:
            raise ModelError(f"{path} is missing: reinstall with 'voice models download'") from exc
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ModelError(f"{path} is unreadable ({_one_line(exc)})") from exc


@dataclass(frozen=True)
class InstallResult:
    """A model that was just installed."""

    name: str
    path: Path
    sha256: str
    archive_bytes: int
    downloaded_bytes: int
    resumed_from: int
    seconds: float
    files: int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an installed model, as found by ``verify_model``."""

    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


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


class _BadArchive(ModelError):
    """The archive's content is unusable: downloading it again would not help."""


@dataclass(frozen=True)
class _Fetched:
    """A complete archive in the partial directory."""

    path: Path
    size: int
    downloaded: int
    resumed_from: int


def find_model(name: str) -> ModelSpec:
    """The registry entry called ``name``; InputError listing the known names otherwise."""
    for spec in REGISTRY:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in REGISTRY)
    raise InputError(f"unknown model {name!r} (known: {known}; or pass --url)")


def check_name(name: str) -> str:
    """``name`` if it is a safe directory name for a model, else InputError."""
    if not _NAME.fullmatch(name) or name in {PARTIAL_DIR, MANIFEST}:
        raise InputError(f"invalid model name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


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


def asr_dir(models_dir: Path) -> Path:
    """Where speech models live: ``models/asr/``."""
    return models_dir / "asr"


def installed_names(models_dir: Path) -> list[str]:
    """Models installed by this module (directories with a manifest), sorted."""
    root = asr_dir(models_dir)
    if not root.is_dir():
        return []
    return sorted(
        child.name
        for child in root.iterdir()
        if not child.name.startswith(".") and (child / MANIFEST).is_file()
    )


def partial_size(models_dir: Path, name: str) -> int:
    """Bytes of an interrupted download of ``name`` waiting to be resumed (0 if none)."""
    path = _partial_paths(models_dir, name)[0]
    return path.stat().st_size if path.is_file() else 0


def verify_model(models_dir: Path, name: str) -> list[Problem]:
    """Every missing or changed file of an installed model (empty when intact)."""
    model_dir = _installed_dir(models_dir, name)
    try:
        manifest = Manifest.read(model_dir)
    except ModelError as exc:
        return [Problem(name, str(exc))]
    return [problem for item in manifest.files if (problem := _check_file(model_dir, name, item))]


def remove_model(models_dir: Path, name: str) -> Path:
    """Delete an installed model (and any partial download of it); its former path."""
    check_name(name)
    model_dir = asr_dir(models_dir) / name
    partial, sidecar = _partial_paths(models_dir, name)
    had_partial = partial.exists()
    for path in (partial, sidecar):
        path.unlink(missing_ok=True)
    if not (model_dir / MANIFEST).is_file():
        if had_partial:
            return partial
        raise _not_installed(models_dir, name)
    try:
        shutil.rmtree(model_dir)
    except OSError as exc:
        raise ModelError(f"cannot remove {model_dir}: {_one_line(exc)}") from exc
    return model_dir


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
    _check_replaceable(dest, force)
    _remove_leftovers(asr_dir(models_dir), name)
    started = time.monotonic()
    fetched = await _fetch(models_dir, name, url, timeout, progress or NoProgress())
    digest = await asyncio.to_thread(_sha256_file, fetched.path)
    if spec.sha256 and digest != spec.sha256.lower():
        _discard_partial(models_dir, name)
        raise ModelError(
            f"checksum mismatch for {name}: expected sha256 {spec.sha256}, got {digest}; "
            "the download was deleted"
        )
    manifest_base = Manifest(name, spec.language, url, digest, "", ())
    files = await asyncio.to_thread(_install_archive, models_dir, fetched.path, manifest_base)
    _discard_partial(models_dir, name)
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


# --- downloading ---------------------------------------------------------------------------


async def _fetch(
    models_dir: Path, name: str, url: str, timeout: float, progress: Progress
) -> _Fetched:
    """A complete archive at ``.partial/<name>.zip``, resuming what an earlier run left."""
    import aiohttp  # only `voice models download` pays for (and uses) the HTTP client

    partial, sidecar = _partial_paths(models_dir, name)
    _make_dir(partial.parent)
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
        reason = os.strerror(error.errno) if error.errno else _one_line(error)
        raise ModelError(f"cannot reach {exc.host}:{exc.port} ({reason})") from exc
    except TimeoutError as exc:
        raise _interrupted(name, partial, url, "timed out") from exc
    except aiohttp.ClientPayloadError as exc:
        raise _interrupted(name, partial, url, "was cut short by the server") from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise _interrupted(name, partial, url, "failed: the server disconnected") from exc
    except aiohttp.ClientError as exc:
        raise _interrupted(name, partial, url, f"failed ({_one_line(exc)})") from exc
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
            _delete(partial, sidecar)
            return await _get(session, url, partial, sidecar, 0, None, progress)
        if response.status not in {200, 206}:
            raise ModelError(
                f"download failed: HTTP {response.status} {response.reason or ''}".rstrip()
                + f" from {url}"
            )
        start, total = _body_range(response, offset)
        _save_sidecar(sidecar, url, total, _validator(response))
        _check_space(partial.parent, None if total is None else total - start)
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
        raise ModelError(f"cannot write {partial}: {_one_line(exc)}") from exc
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
        raise ModelError(f"cannot write {path}: {_one_line(exc)}") from exc


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


def _partial_paths(models_dir: Path, name: str) -> tuple[Path, Path]:
    """The partial archive and its sidecar (URL, size, validator) for resuming."""
    directory = asr_dir(models_dir) / PARTIAL_DIR
    return directory / f"{name}.zip", directory / f"{name}.json"


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
        raise ModelError(f"cannot write {sidecar}: {_one_line(exc)}") from exc


def _discard_partial(models_dir: Path, name: str) -> None:
    """Delete a partial download and its sidecar (and the directory once empty)."""
    partial, sidecar = _partial_paths(models_dir, name)
    _delete(partial, sidecar)
    with contextlib.suppress(OSError):  # not empty (another partial download) or gone
        partial.parent.rmdir()


def _delete(*paths: Path) -> None:
    """Delete files that may not exist."""
    for path in paths:
        path.unlink(missing_ok=True)


def _check_space(directory: Path, needed: int | None) -> None:
    """ModelError when the disk cannot hold ``needed`` more bytes."""
    if needed is None:
        return
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise ModelError(
            f"not enough disk space in {directory}: need {needed / MB:.1f} MB, "
            f"have {free / MB:.1f} MB"
        )


# --- installing ----------------------------------------------------------------------------


def _install_archive(models_dir: Path, archive: Path, manifest: Manifest) -> int:
    """Extract ``archive`` next to the final place, write its manifest, rename it in.

    Returns the number of files installed. A bad archive deletes the partial download
    (downloading the same bytes again would not help); a disk failure keeps it.
    """
    root = asr_dir(models_dir)
    staging = root / f".{manifest.name}.extract-{secrets.token_hex(4)}"
    try:
        _make_dir(staging)
        try:
            _extract(archive, staging, manifest.name)
        except _BadArchive:
            _discard_partial(models_dir, manifest.name)
            raise
        files = _describe(staging)
        final = Manifest(
            manifest.name,
            manifest.language,
            manifest.url,
            manifest.sha256,
            datetime.now(UTC).isoformat(timespec="seconds"),
            files,
        )
        (staging / MANIFEST).write_text(final.to_json(), "utf-8")
        _swap_in(staging, root / manifest.name)
    except OSError as exc:
        raise ModelError(f"cannot install {manifest.name}: {_one_line(exc)}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(files)


def _extract(archive: Path, target: Path, name: str) -> None:
    """Extract the model's files of ``archive`` into ``target`` (a fresh directory)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            strip = _layout(members, name)
            _check_space(target, sum(info.file_size for info in members))
            for info in members:
                _extract_member(zf, info, target, strip)
    except zipfile.BadZipFile as exc:
        raise _BadArchive(f"the archive of {name} is corrupted ({_one_line(exc)})") from exc
    except (zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise _BadArchive(f"the archive of {name} cannot be read ({_one_line(exc)})") from exc


def _layout(members: list[zipfile.ZipInfo], name: str) -> int:
    """How many leading path parts to strip: 1 for ``<name>/...``, 0 for a flat archive.

    Refuses unsafe members (absolute paths, '..', symbolic links), empty archives and
    archives whose only top-level folder is some other model.
    """
    for info in members:
        _check_member(info)
    paths = [_parts(info.filename) for info in members]
    paths = [parts for parts in paths if parts]
    if not any(not info.is_dir() for info in members):
        raise _BadArchive(f"the archive of {name} contains no files")
    tops = {parts[0] for parts in paths}
    if tops == {name}:
        return 1
    if len(tops) == 1 and any(len(parts) > 1 for parts in paths):
        raise _BadArchive(f"the archive holds the folder {tops.pop()!r}, not the model {name!r}")
    return 0


def _check_member(info: zipfile.ZipInfo) -> None:
    """ModelError for a member that would be written outside the model directory."""
    raw = info.filename.replace("\\", "/")
    if raw.startswith("/") or re.match(r"[A-Za-z]:", raw) or ".." in raw.split("/"):
        raise _BadArchive(f"unsafe path in archive: {info.filename!r}; nothing was installed")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _BadArchive(f"symbolic link in archive: {info.filename!r}; nothing was installed")


def _parts(filename: str) -> tuple[str, ...]:
    """The path parts of a member name, without empty and '.' parts."""
    return tuple(part for part in filename.replace("\\", "/").split("/") if part not in {"", "."})


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, strip: int) -> None:
    """Write one member under ``target`` (its CRC is checked by zipfile while reading)."""
    parts = _parts(info.filename)[strip:]
    if not parts:
        return
    path = target.joinpath(*parts)
    if not path.resolve().is_relative_to(target.resolve()):
        raise _BadArchive(f"unsafe path in archive: {info.filename!r}; nothing was installed")
    if info.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as source, path.open("wb") as sink:
        shutil.copyfileobj(source, sink, CHUNK)


def _describe(model_dir: Path) -> tuple[InstalledFile, ...]:
    """Every file under ``model_dir`` with its size and sha256, sorted by path."""
    files = sorted(path for path in model_dir.rglob("*") if path.is_file())
    return tuple(
        InstalledFile(
            path.relative_to(model_dir).as_posix(), path.stat().st_size, _sha256_file(path)
        )
        for path in files
        if path.relative_to(model_dir).as_posix() != MANIFEST
    )


def _swap_in(staging: Path, dest: Path) -> None:
    """Rename ``staging`` to ``dest``; an older install is moved aside first, then deleted."""
    if not dest.exists():
        staging.rename(dest)
        return
    old = dest.with_name(f".{dest.name}.old-{secrets.token_hex(4)}")
    dest.rename(old)
    try:
        staging.rename(dest)
    except OSError:
        old.rename(dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(dest: Path, force: bool) -> None:
    """InputError when ``dest`` exists and may not (or must never) be replaced."""
    if not dest.exists():
        return
    if not (dest / MANIFEST).is_file():
        raise InputError(f"{dest} exists and was not installed by 'voice models'; move it away")
    if not force:
        raise InputError(f"{dest.name} is already installed at {dest}; use --force to replace it")


def _remove_leftovers(root: Path, name: str) -> None:
    """Delete staging directories that a crashed earlier install of ``name`` left behind."""
    if not root.is_dir():
        return
    for pattern in (f".{name}.extract-*", f".{name}.old-*"):
        for leftover in root.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


# --- verifying -----------------------------------------------------------------------------


def _installed_dir(models_dir: Path, name: str) -> Path:
    """The directory of an installed model; InputError when it is not installed."""
    model_dir = asr_dir(models_dir) / check_name(name)
    if not (model_dir / MANIFEST).is_file():
        raise _not_installed(models_dir, name)
    return model_dir


def _not_installed(models_dir: Path, name: str) -> InputError:
    """The error for a model name that is not installed (listing those that are)."""
    installed = ", ".join(installed_names(models_dir)) or "none"
    return InputError(f"model {name!r} is not installed (installed: {installed})")


def _check_file(model_dir: Path, name: str, item: InstalledFile) -> Problem | None:
    """The problem with one file of the manifest, or None when it is intact."""
    path = model_dir / item.path
    if not path.is_file():
        return Problem(name, f"missing file {item.path}")
    try:
        size = path.stat().st_size
        if size != item.size:
            return Problem(name, f"changed file {item.path} (size {item.size} -> {size})")
        if _sha256_file(path) != item.sha256:
            return Problem(name, f"changed file {item.path} (sha256 differs)")
    except OSError as exc:
        return Problem(name, f"unreadable file {item.path} ({_one_line(exc)})")
    return None


# --- helpers -------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _make_dir(path: Path) -> None:
    """``mkdir -p``; ModelError when impossible."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create {path}: {_one_line(exc)}") from exc


def _one_line(value: object) -> str:
    """Any message squeezed onto one line."""
    return " ".join(str(value).split()) or type(value).__name__
