"""Vosk models installed under ``models/asr/<name>/``: the registry, manifests,
safe installation of an archive (atomic, zip-slip checked), verification and removal.

Nothing here touches the network; ``download.py`` fetches the archives.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import re
import secrets
import shutil
import stat
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import InputError, ModelError

if TYPE_CHECKING:
    pass


DEFAULT_BASE_URL = "https://alphacephei.com/vosk/models"
MB = 1_000_000
MANIFEST = "manifest.json"


PARTIAL_DIR = ".partial"


CHUNK = 64 * 1024


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

_CONTENT_ERRNOS = frozenset(
    {errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL}
)
"""Errors writing a member that come from the archive's names, not from the disk."""


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


# alphacephei.com publishes no sha256 of its archives (its model-list.json has md5
# sums). The English value below is the one that many independent projects pinned after
# downloading the archive (41,205,931 bytes), among them the Arch Linux AUR package of
# vosk-api and the numen voice-control installer. No such value could be found for the
# Chinese archive, so it is not checked; `voice models download NAME --sha256 HEX`
# checks any download against a value the user trusts.
REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="vosk-model-small-en-us-0.15",
        language="en",
        url=f"{DEFAULT_BASE_URL}/vosk-model-small-en-us-0.15.zip",
        approx_size=40 * MB,
        sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
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
            raise ModelError(f"{path} is unreadable ({one_line(exc)})") from exc


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


class BadArchive(ModelError):
    """The archive's content is unusable: downloading it again would not help."""


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


def verify_model(models_dir: Path, name: str) -> list[Problem]:
    """Every missing or changed file of an installed model (empty when intact)."""
    model_dir = installed_dir(models_dir, name)
    try:
        manifest = Manifest.read(model_dir)
    except ModelError as exc:
        return [Problem(name, str(exc))]
    return [problem for item in manifest.files if (problem := check_file(model_dir, name, item))]


def remove_model(models_dir: Path, name: str) -> Path:
    """Delete an installed model (and any partial download of it); its former path."""
    check_name(name)
    model_dir = asr_dir(models_dir) / name
    partial, sidecar = partial_paths(models_dir, name)
    had_partial = partial.exists()
    for path in (partial, sidecar):
        path.unlink(missing_ok=True)
    if not (model_dir / MANIFEST).is_file():
        if had_partial:
            return partial
        raise not_installed(models_dir, name)
    try:
        shutil.rmtree(model_dir)
    except OSError as exc:
        raise ModelError(f"cannot remove {model_dir}: {one_line(exc)}") from exc
    return model_dir


def partial_paths(models_dir: Path, name: str) -> tuple[Path, Path]:
    """The partial archive and its sidecar (URL, size, validator) for resuming."""
    directory = asr_dir(models_dir) / PARTIAL_DIR
    return directory / f"{name}.zip", directory / f"{name}.json"


def discard_partial(models_dir: Path, name: str) -> None:
    """Delete a partial download and its sidecar (and the directory once empty)."""
    partial, sidecar = partial_paths(models_dir, name)
    delete_files(partial, sidecar)
    with contextlib.suppress(OSError):  # not empty (another partial download) or gone
        partial.parent.rmdir()


def delete_files(*paths: Path) -> None:
    """Delete files that may not exist."""
    for path in paths:
        path.unlink(missing_ok=True)


def check_space(directory: Path, needed: int | None) -> None:
    """ModelError when the disk cannot hold ``needed`` more bytes."""
    if needed is None:
        return
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise ModelError(
            f"not enough disk space in {directory}: need {needed / MB:.1f} MB, "
            f"have {free / MB:.1f} MB"
        )


def install_archive(models_dir: Path, archive: Path, manifest: Manifest) -> int:
    """Extract ``archive`` next to the final place, write its manifest, rename it in.

    Returns the number of files installed. A bad archive deletes the partial download
    (downloading the same bytes again would not help); a disk failure keeps it.
    """
    root = asr_dir(models_dir)
    staging = root / f".{manifest.name}.extract-{secrets.token_hex(4)}"
    try:
        make_dir(staging)
        try:
            _extract(archive, staging, manifest.name)
        except BadArchive:
            discard_partial(models_dir, manifest.name)
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
        raise ModelError(f"cannot install {manifest.name}: {one_line(exc)}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(files)


def _extract(archive: Path, target: Path, name: str) -> None:
    """Extract the model's files of ``archive`` into ``target`` (a fresh directory)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            strip = _layout(members, name)
            check_space(target, sum(info.file_size for info in members))
            for info in members:
                try:
                    _extract_member(zf, info, target, strip)
                except OSError as exc:
                    if exc.errno not in _CONTENT_ERRNOS:
                        raise  # a disk problem: the download is kept for the next try
                    raise BadArchive(
                        f"the archive of {name} is unusable: member {info.filename!r} cannot "
                        f"be written ({exc.strerror}); nothing was installed and the download "
                        "was deleted"
                    ) from exc
    except zipfile.BadZipFile as exc:
        raise BadArchive(f"the archive of {name} is corrupted ({one_line(exc)})") from exc
    except (zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise BadArchive(f"the archive of {name} cannot be read ({one_line(exc)})") from exc


def _layout(members: list[zipfile.ZipInfo], name: str) -> int:
    """How many leading path parts to strip: 1 for ``<name>/...``, 0 for a flat archive.

    Refuses unsafe members (absolute paths, '..', symbolic links), empty archives and
    archives whose only top-level folder is some other model.
    """
    for info in members:
        _check_member(info)
    _check_conflicts(members, name)
    paths = [_parts(info.filename) for info in members]
    paths = [parts for parts in paths if parts]
    if not any(not info.is_dir() for info in members):
        raise BadArchive(f"the archive of {name} contains no files")
    tops = {parts[0] for parts in paths}
    if tops == {name}:
        return 1
    if len(tops) == 1 and any(len(parts) > 1 for parts in paths):
        raise BadArchive(f"the archive holds the folder {tops.pop()!r}, not the model {name!r}")
    return 0


def _check_member(info: zipfile.ZipInfo) -> None:
    """ModelError for a member that would be written outside the model directory."""
    raw = info.filename.replace("\\", "/")
    if raw.startswith("/") or re.match(r"[A-Za-z]:", raw) or ".." in raw.split("/"):
        raise BadArchive(f"unsafe path in archive: {info.filename!r}; nothing was installed")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise BadArchive(f"symbolic link in archive: {info.filename!r}; nothing was installed")


def _check_conflicts(members: list[zipfile.ZipInfo], name: str) -> None:
    """BadArchive when a file member is also a folder of another member (``a`` and ``a/b``).

    Such an archive cannot be extracted on any file system; found before anything is
    written, the error names both members.
    """
    files = {
        _parts(info.filename): info.filename
        for info in members
        if not info.is_dir() and _parts(info.filename)
    }
    for info in members:
        parts = _parts(info.filename)
        folders = parts if info.is_dir() else parts[:-1]
        for depth in range(1, len(folders) + 1):
            clash = files.get(folders[:depth])
            if clash is not None:
                raise BadArchive(
                    f"the archive of {name} is unusable: it holds the file {clash!r} and "
                    f"also {info.filename!r}, which needs {clash!r} to be a folder; "
                    "nothing was installed and the download was deleted"
                )


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
        raise BadArchive(f"unsafe path in archive: {info.filename!r}; nothing was installed")
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
            path.relative_to(model_dir).as_posix(), path.stat().st_size, sha256_file(path)
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


def check_replaceable(dest: Path, force: bool) -> None:
    """InputError when ``dest`` exists and may not (or must never) be replaced."""
    if not dest.exists():
        return
    if not (dest / MANIFEST).is_file():
        raise InputError(f"{dest} exists and was not installed by 'voice models'; move it away")
    if not force:
        raise InputError(f"{dest.name} is already installed at {dest}; use --force to replace it")


def remove_leftovers(root: Path, name: str) -> None:
    """Delete staging directories that a crashed earlier install of ``name`` left behind."""
    if not root.is_dir():
        return
    for pattern in (f".{name}.extract-*", f".{name}.old-*"):
        for leftover in root.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def installed_dir(models_dir: Path, name: str) -> Path:
    """The directory of an installed model; InputError when it is not installed."""
    model_dir = asr_dir(models_dir) / check_name(name)
    if not (model_dir / MANIFEST).is_file():
        raise not_installed(models_dir, name)
    return model_dir


def not_installed(models_dir: Path, name: str) -> InputError:
    """The error for a model name that is not installed (listing those that are)."""
    installed = ", ".join(installed_names(models_dir)) or "none"
    return InputError(f"model {name!r} is not installed (installed: {installed})")


def check_file(model_dir: Path, name: str, item: InstalledFile) -> Problem | None:
    """The problem with one file of the manifest, or None when it is intact."""
    path = model_dir / item.path
    if not path.is_file():
        return Problem(name, f"missing file {item.path}")
    try:
        size = path.stat().st_size
        if size != item.size:
            return Problem(name, f"changed file {item.path} (size {item.size} -> {size})")
        if sha256_file(path) != item.sha256:
            return Problem(name, f"changed file {item.path} (sha256 differs)")
    except OSError as exc:
        return Problem(name, f"unreadable file {item.path} ({one_line(exc)})")
    return None


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def make_dir(path: Path) -> None:
    """``mkdir -p``; ModelError when impossible."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create {path}: {one_line(exc)}") from exc


def one_line(value: object) -> str:
    """Any message squeezed onto one line."""
    return " ".join(str(value).split()) or type(value).__name__
