"""`voice models`: downloads from a real local aiohttp server (Range, cuts, errors, bad zips)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import socket
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from voice_runtime.cli import models as models_cli
from voice_runtime.errors import InputError, ModelError, VoiceError
from voice_runtime.speech.download import BASE_URL_ENV, TextProgress, install_model, resolve_url
from voice_runtime.speech.model_store import (
    DEFAULT_BASE_URL,
    Manifest,
    ModelSpec,
    check_name,
    find_model,
    remove_model,
    verify_model,
)

EN = "vosk-model-small-en-us-0.15"
EN_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"
NAME = "test-model"
MDL = bytes(range(256)) * 1200  # 300 KB, stored uncompressed: big enough to cut mid-way
CONF = b"--sample-frequency=16000\n"


def make_zip(files: dict[str, bytes]) -> bytes:
    """A zip archive (stored, not deflated) holding ``files``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def model_zip(top: str | None = NAME) -> bytes:
    """A dummy Vosk model, under the folder ``top`` (None: flat layout)."""
    prefix = f"{top}/" if top else ""
    return make_zip(
        {
            f"{prefix}am/final.mdl": MDL,
            f"{prefix}conf/model.conf": CONF,
            f"{prefix}README": b"dummy model\n",
        }
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Served:
    """One archive the server offers, and how it misbehaves."""

    body: bytes
    cut_after: int | None = None
    """On the first request only: send this many bytes, then drop the connection."""
    ignore_range: bool = False
    status: int = 200
    stall: bool = False
    """Never answer (until the server stops)."""


@dataclass
class ModelServer:
    """A real HTTP server on a free loopback port, in its own thread and event loop."""

    files: dict[str, Served] = field(default_factory=dict)
    ranges: list[str | None] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(
        self,
        name: str,
        body: bytes,
        *,
        cut_after: int | None = None,
        ignore_range: bool = False,
        status: int = 200,
        stall: bool = False,
    ) -> str:
        """Offer ``body`` at /name; returns its URL."""
        self.files[name] = Served(body, cut_after, ignore_range, status, stall)
        return f"{self.url}/{name}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET with optional ``Range: bytes=N-``; 206 with Content-Range for a range."""
        self.ranges.append(request.headers.get("Range"))
        served = self.files.get(request.match_info["name"])
        if served is None:
            raise web.HTTPNotFound()
        if served.status != 200:
            return web.Response(status=served.status, text="boom")
        if served.stall:
            await self.stopping.wait()
        body, status, headers = served.body, 200, {}
        asked = request.headers.get("Range", "")
        if asked.startswith("bytes=") and not served.ignore_range:
            start = int(asked[len("bytes=") :].rstrip("-"))
            if start >= len(body):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(body)}"})
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            body, status = body[start:], 206
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = len(body)
        await response.prepare(request)
        if served.cut_after is not None:
            await response.write(body[: served.cut_after])
            served.cut_after = None
            assert request.transport is not None
            request.transport.close()  # the client sees a short body
            return response
        await response.write(body)
        await response.write_eof()
        return response

    async def start(self) -> None:
        self.stopping = asyncio.Event()
        app = web.Application()
        app.router.add_get("/{name}", self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        self.stopping.set()
        await self.runner.cleanup()


@pytest.fixture()
def server() -> Iterator[ModelServer]:
    srv = ModelServer()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(srv.start(), loop).result(5)
    try:
        yield srv
    finally:
        asyncio.run_coroutine_threadsafe(srv.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture()
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "project" / "models"


def voice_models(models_dir: Path, *argv: str) -> int:
    """`voice --project P models ...` as cli/main.py runs it (errors -> stderr, exit 1)."""
    parser = argparse.ArgumentParser(prog="voice")
    parser.add_argument("--project", type=Path)
    models_cli.add_arguments(parser)
    args = parser.parse_args(["--project", str(models_dir.parent), *argv])
    try:
        return models_cli.run(args)
    except VoiceError as exc:
        print(f"voice models: error: {exc}", file=sys.stderr)
        return 1


def spec_for(server: ModelServer, sha: str | None = None, name: str = NAME) -> ModelSpec:
    return ModelSpec(name, "en", f"{server.url}/{name}.zip", None, sha)


def assert_not_installed(models_dir: Path, name: str = NAME) -> None:
    asr = models_dir / "asr"
    assert not (asr / name).exists()
    assert not list(asr.glob(f".{name}.*")), "a staging directory was left behind"


def partial_of(models_dir: Path, name: str = NAME) -> Path:
    return models_dir / "asr" / ".partial" / f"{name}.zip"


def test_download_install_verify_remove(
    server: ModelServer,
    models_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole life of a registry model, with the base URL from $VOICE_MODELS_URL."""
    archive = model_zip(EN)
    server.serve(f"{EN}.zip", archive)
    monkeypatch.setenv(BASE_URL_ENV, server.url)
    bias = models_dir / "asr" / "en" / "bias.arpa"  # another module's cache: never touched
    bias.parent.mkdir(parents=True)
    bias.write_text("cache")

    assert voice_models(models_dir, "list") == 0
    listing = capsys.readouterr().out
    assert f"{EN}" in listing and "not installed" in listing and "~40 MB" in listing

    # The registry's checksum is of the real archive: this dummy one needs its own.
    assert voice_models(models_dir, "download", EN, "--sha256", sha256(archive).upper()) == 0
    out, err = capsys.readouterr()
    assert f"installed {EN}" in out
    assert "100%" in err and "MB/s" in err  # the one-line summary (stderr is not a TTY)
    model = models_dir / "asr" / EN
    assert (model / "am" / "final.mdl").read_bytes() == MDL
    assert (model / "conf" / "model.conf").read_bytes() == CONF
    manifest = Manifest.read(model)
    assert (manifest.name, manifest.language, manifest.sha256) == (EN, "en", sha256(archive))
    assert manifest.url == f"{server.url}/{EN}.zip" and manifest.installed_at
    assert {(f.path, f.size) for f in manifest.files} == {
        ("am/final.mdl", len(MDL)),
        ("conf/model.conf", len(CONF)),
        ("README", 12),
    }
    assert not (models_dir / "asr" / ".partial").exists()
    assert server.ranges == [None]

    assert voice_models(models_dir, "list") == 0
    assert f"{EN:34} en" in capsys.readouterr().out
    assert voice_models(models_dir, "verify") == 0
    assert capsys.readouterr().out == f"ok {EN}\n"

    assert voice_models(models_dir, "remove", EN) == 0
    assert not model.exists()
    assert voice_models(models_dir, "remove", EN) == 1
    assert "is not installed" in capsys.readouterr().err
    assert voice_models(models_dir, "remove", "en") == 1  # not ours: refused
    assert bias.read_text() == "cache"


def test_flat_archive_installs(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", model_zip(top=None))
    result = install_model(models_dir, spec_for(server))
    assert result.files == 3
    assert (models_dir / "asr" / NAME / "am" / "final.mdl").read_bytes() == MDL
    assert verify_model(models_dir, NAME) == []


def test_interrupted_download_resumes_with_range(server: ModelServer, models_dir: Path) -> None:
    archive = model_zip()
    server.serve(f"{NAME}.zip", archive, cut_after=100_000)
    spec = spec_for(server, sha256(archive))

    with pytest.raises(ModelError, match="cut short .* again to resume") as exc:
        install_model(models_dir, spec)
    assert "\n" not in str(exc.value)
    assert partial_of(models_dir).stat().st_size == 100_000
    assert_not_installed(models_dir)

    result = install_model(models_dir, spec)
    assert server.ranges == [None, "bytes=100000-"]
    assert result.resumed_from == 100_000
    assert result.downloaded_bytes == len(archive) - 100_000
    assert result.sha256 == sha256(archive) and result.archive_bytes == len(archive)
    assert (models_dir / "asr" / NAME / "am" / "final.mdl").read_bytes() == MDL
    assert not partial_of(models_dir).exists()


def test_server_ignoring_range_restarts_from_zero(server: ModelServer, models_dir: Path) -> None:
    archive = model_zip()
    server.serve(f"{NAME}.zip", archive, cut_after=50_000, ignore_range=True)
    with pytest.raises(ModelError, match="again to resume"):
        install_model(models_dir, spec_for(server))
    result = install_model(models_dir, spec_for(server))
    assert server.ranges == [None, "bytes=50000-"]  # asked to resume, got 200: whole file
    assert result.resumed_from == 0 and result.downloaded_bytes == len(archive)
    assert result.sha256 == sha256(archive)


def test_partial_download_reuse_rules(server: ModelServer, models_dir: Path) -> None:
    """A complete partial is installed offline; a stale or foreign one is fetched again."""
    archive = model_zip()
    url = server.serve(f"{NAME}.zip", archive)
    partial = partial_of(models_dir)
    sidecar = partial.with_suffix(".json")
    partial.parent.mkdir(parents=True)

    partial.write_bytes(archive)  # complete (an earlier install failed after downloading)
    sidecar.write_text(json.dumps({"url": url, "total": len(archive), "validator": None}))
    install_model(models_dir, spec_for(server))
    assert server.ranges == []

    remove_model(models_dir, NAME)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(archive + b"junk")  # size unknown: resume asks past the end -> 416
    sidecar.write_text(json.dumps({"url": url, "total": None, "validator": None}))
    install_model(models_dir, spec_for(server))
    assert server.ranges == [f"bytes={len(archive) + 4}-", None]

    remove_model(models_dir, NAME)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(archive[:1000])  # from another URL: never spliced with this one
    sidecar.write_text(json.dumps({"url": url + "?mirror", "total": None, "validator": None}))
    result = install_model(models_dir, spec_for(server))
    assert server.ranges[-1] is None and result.sha256 == sha256(archive)


def test_only_download_uses_the_network(
    server: ModelServer, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.serve(f"{NAME}.zip", model_zip())
    install_model(models_dir, spec_for(server))

    def no_network(*args: object) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    # Rasa's import may install uvloop, whose connects bypass socket.socket.connect
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    try:
        assert voice_models(models_dir, "list") == 0
        assert voice_models(models_dir, "verify") == 0
        assert voice_models(models_dir, "remove", NAME) == 0
        with pytest.raises(AssertionError, match="network used"):  # the guard works
            voice_models(models_dir, "download", NAME, "--url", f"{server.url}/{NAME}.zip")
    finally:
        asyncio.set_event_loop_policy(previous)


def test_checksum_mismatch_installs_nothing(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", model_zip(top=None))  # not the archive the registry knows
    spec = spec_for(server, sha256(model_zip()))
    with pytest.raises(ModelError, match="checksum mismatch for test-model"):
        install_model(models_dir, spec)
    assert_not_installed(models_dir)
    assert not partial_of(models_dir).exists()


def test_not_a_zip_installs_nothing(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", b"<html>mirror maintenance</html>")
    with pytest.raises(ModelError, match="archive of test-model is corrupted"):
        install_model(models_dir, spec_for(server))
    assert_not_installed(models_dir)
    assert not partial_of(models_dir).exists()


@pytest.mark.parametrize("status", [404, 500])
def test_http_error(
    server: ModelServer, models_dir: Path, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    if status != 404:
        server.serve(f"{EN}.zip", b"", status=status)
    assert voice_models(models_dir, "download", EN, "--base-url", server.url) == 1
    err = capsys.readouterr().err
    assert f"HTTP {status}" in err and err.count("\n") == 1
    assert_not_installed(models_dir, EN)


def test_unreachable_server(models_dir: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = ModelSpec(NAME, "en", f"http://127.0.0.1:{port}/{NAME}.zip", None)
    with pytest.raises(ModelError, match=f"cannot reach 127.0.0.1:{port}"):
        install_model(models_dir, spec)
    assert_not_installed(models_dir)


def test_timeout(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", model_zip(), stall=True)
    with pytest.raises(ModelError, match="timed out"):
        install_model(models_dir, spec_for(server), timeout=0.3)
    assert_not_installed(models_dir)


@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/evil.txt", f"{NAME}/../../evil.txt"])
def test_zip_slip_refused(
    server: ModelServer, models_dir: Path, tmp_path: Path, member: str
) -> None:
    server.serve(f"{NAME}.zip", make_zip({f"{NAME}/conf/model.conf": CONF, member: b"pwned"}))
    with pytest.raises(ModelError, match="unsafe path in archive"):
        install_model(models_dir, spec_for(server))
    assert_not_installed(models_dir)
    assert not partial_of(models_dir).exists()
    assert not list(tmp_path.rglob("evil.txt"))


def test_other_models_folder_refused(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", model_zip(top="vosk-model-de-0.21"))
    with pytest.raises(ModelError, match="folder 'vosk-model-de-0.21', not the model"):
        install_model(models_dir, spec_for(server))
    assert_not_installed(models_dir)


def test_verify_reports_each_changed_file(
    server: ModelServer, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.serve(f"{NAME}.zip", model_zip())
    install_model(models_dir, spec_for(server))
    model = models_dir / "asr" / NAME
    (model / "conf" / "model.conf").write_bytes(CONF.replace(b"16000", b"8000 "))  # same size
    (model / "README").write_bytes(b"edited\n")
    (model / "am" / "final.mdl").unlink()

    assert voice_models(models_dir, "verify", NAME) == 1
    assert capsys.readouterr().err.splitlines() == [
        "voice models verify: test-model: changed file README (size 12 -> 7)",
        "voice models verify: test-model: missing file am/final.mdl",
        "voice models verify: test-model: changed file conf/model.conf (sha256 differs)",
    ]


def test_reinstall_needs_force(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", model_zip())
    install_model(models_dir, spec_for(server))
    with pytest.raises(InputError, match="already installed"):
        install_model(models_dir, spec_for(server))
    (models_dir / "asr" / NAME / "README").unlink()
    install_model(models_dir, spec_for(server), force=True)
    assert verify_model(models_dir, NAME) == []
    assert sorted(p.name for p in (models_dir / "asr").iterdir()) == [NAME]

    foreign = models_dir / "asr" / "handmade"
    foreign.mkdir()
    with pytest.raises(InputError, match="not installed by 'voice models'"):
        install_model(models_dir, spec_for(server, name="handmade"), force=True)


def test_disk_write_failure(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", model_zip())
    partial_of(models_dir).mkdir(parents=True)  # writing the archive there fails
    with pytest.raises(ModelError, match="cannot write .*test-model.zip") as exc:
        install_model(models_dir, spec_for(server))
    assert "\n" not in str(exc.value)
    assert_not_installed(models_dir)


def test_names_urls_and_progress(monkeypatch: pytest.MonkeyPatch, models_dir: Path) -> None:
    spec = find_model(EN)
    assert spec.sha256 == EN_SHA256 and spec.language == "en"
    chinese = find_model("vosk-model-small-cn-0.22")
    assert chinese.language == "zh" and chinese.sha256 is None  # no published value found
    with pytest.raises(InputError, match="unknown model"):
        find_model("vosk-model-huge")
    for bad in ("../x", ".partial", "a/b", ""):
        with pytest.raises(InputError, match="invalid model name"):
            check_name(bad)
    with pytest.raises(InputError, match="invalid model name"):
        remove_model(models_dir, "..")

    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    assert resolve_url(spec) == f"{DEFAULT_BASE_URL}/{EN}.zip"
    assert resolve_url(spec, environ={BASE_URL_ENV: "http://m/"}) == f"http://m/{EN}.zip"
    assert resolve_url(spec, "http://b", {BASE_URL_ENV: "http://m"}) == f"http://b/{EN}.zip"
    with pytest.raises(InputError, match="not an http"):
        resolve_url(spec, "file:///etc")

    stream = io.StringIO()
    bar = TextProgress(EN, stream, tty=True)
    bar.start(4 * 1_000_000, 1_000_000)
    bar.update(2 * 1_000_000)
    bar.close(True)
    text = stream.getvalue()
    assert text.startswith(f"\r{EN}   50%  2.0/4.0 MB") and text.endswith("\n")
    assert "resumed at 1.0 MB" in text


def test_manifest_json_is_readable(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", model_zip())
    install_model(models_dir, spec_for(server))
    data = json.loads((models_dir / "asr" / NAME / "manifest.json").read_text("utf-8"))
    assert set(data) == {"name", "language", "url", "sha256", "installed_at", "files"}
    assert data["files"][0] == {"path": "README", "size": 12, "sha256": sha256(b"dummy model\n")}


# -- checksums of registry models (issue 10, item 6) ---------------------------------------


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line on stderr (the download's progress summary may precede it)."""
    errors = [line for line in capsys.readouterr().err.splitlines() if " error: " in line]
    assert len(errors) == 1, errors
    return errors[0]


def test_registry_checksum_is_checked(
    server: ModelServer, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry model whose archive is not the published one is refused and deleted."""
    server.serve(f"{EN}.zip", model_zip(EN))
    assert voice_models(models_dir, "download", EN, "--base-url", server.url) == 1
    err = error_line(capsys)
    assert err.startswith(f"voice models: error: checksum mismatch for {EN}: ")
    assert f"expected sha256 {EN_SHA256}" in err
    assert_not_installed(models_dir, EN)
    assert not partial_of(models_dir, EN).exists()


def test_sha256_option_checks_a_registry_download(
    server: ModelServer, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = model_zip(EN)
    server.serve(f"{EN}.zip", archive)
    wrong = sha256(archive + b"x")
    argv = ["download", EN, "--base-url", server.url]
    assert voice_models(models_dir, *argv, "--sha256", wrong) == 1
    err = error_line(capsys)
    assert f"checksum mismatch for {EN}: expected sha256 {wrong}, got {sha256(archive)}" in err
    assert err.endswith("; the download was deleted")
    assert_not_installed(models_dir, EN)
    assert not partial_of(models_dir, EN).exists()

    assert voice_models(models_dir, *argv, "--sha256", sha256(archive)) == 0
    assert Manifest.read(models_dir / "asr" / EN).sha256 == sha256(archive)
    assert server.ranges == [None, None]  # the bad download was not reused

    assert voice_models(models_dir, *argv, "--sha256", "abc") == 1
    assert "--sha256 needs 64 hex digits" in capsys.readouterr().err


# -- archives that cannot be extracted (issue 10, item 12) ---------------------------------


@pytest.mark.parametrize(
    ("members", "clash", "member"),
    [
        (["a", "a/b"], "a", "a/b"),
        (["conf/x/y", "conf/x", "README"], "conf/x", "conf/x/y"),
        ([f"{NAME}/am", f"{NAME}/am/final.mdl"], f"{NAME}/am", f"{NAME}/am/final.mdl"),
    ],
)
def test_file_and_folder_of_the_same_name(
    server: ModelServer,
    models_dir: Path,
    capsys: pytest.CaptureFixture[str],
    members: list[str],
    clash: str,
    member: str,
) -> None:
    """`a` and `a/b`: a one-line error naming both, and a rerun downloads again."""
    url = server.serve(f"{NAME}.zip", make_zip({name: b"data" for name in members}))
    argv = ["download", NAME, "--url", url]
    for attempt in (1, 2):
        assert voice_models(models_dir, *argv) == 1
        err = error_line(capsys)
        assert "Errno" not in err
        assert f"holds the file {clash!r} and also {member!r}" in err
        assert "the download was deleted" in err
        assert_not_installed(models_dir)
        assert not partial_of(models_dir).exists()
        assert server.ranges == [None] * attempt  # downloaded afresh each time

    server.serve(f"{NAME}.zip", model_zip())  # the server's archive is fixed
    assert voice_models(models_dir, *argv) == 0
    assert verify_model(models_dir, NAME) == []


def test_folder_entry_and_file_of_the_same_name(server: ModelServer, models_dir: Path) -> None:
    server.serve(f"{NAME}.zip", make_zip({"am/": b"", "am": b"data", "README": b"x"}))
    with pytest.raises(ModelError, match="holds the file 'am' and also 'am/'") as caught:
        install_model(models_dir, spec_for(server))
    assert "\n" not in str(caught.value)
    assert not partial_of(models_dir).exists()
