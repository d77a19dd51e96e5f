"""`voice serve`: the household server for speakers, TVs and phones.

Settings come from flags, else the environment, else defaults:

    --host (VOICE_HOST, 127.0.0.1)       --port (VOICE_PORT, 8780; 0: any free port)
    --workers (VOICE_WORKERS, 1)         --redis URL (VOICE_REDIS_URL; none: in-process)
    --database URL (VOICE_DATABASE_URL; none: sqlite:///<project>/models/voice.db)
    --max-running / --max-queue          turns running at once / waiting beyond them
    --rate / --burst                     turns per second per device / in a row
    --max-body                           bytes of a request body
    --no-campaigns                       no scene marketing (default: the project's
                                         campaigns/*.yaml are attached)
    --poster-interval S / --poster-idle S  idle-screen posters: look every S seconds
                                         (default 60; 0: never) at screens idle for
                                         S seconds (default 120)

`--workers N` (N > 1, Redis required) starts N worker processes, each a
`voice serve` of its own that loads the models once and binds the same port
with SO_REUSEPORT (the kernel spreads connections over them); sessions and
pushes are shared through Redis. The parent prints one line when every worker
listens and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..errors import VoiceError
from .common import add_demo_services, build_assistant, err, project_of

if TYPE_CHECKING:
    from ..dialog.router import Assistant
    from ..project import Project
    from ..server import ServerSettings

READY = "ready"  # what a worker prints on stdout once it listens


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise VoiceError(f"${name} must be a whole number, not {value!r}") from None


def add_arguments(parser: argparse.ArgumentParser, env: Mapping[str, str] = os.environ) -> None:
    parser.add_argument("--host", default=env.get("VOICE_HOST", "127.0.0.1"), help="address")
    parser.add_argument(
        "--port", type=int, default=None, help="port (default: $VOICE_PORT or 8780; 0: any free)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes on one port (default: $VOICE_WORKERS or 1; >1 needs Redis)",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=env.get("VOICE_REDIS_URL") or None,
        help="Redis for sessions shared by processes, e.g. redis://127.0.0.1:6379/0 "
        "(default: $VOICE_REDIS_URL, else sessions in this process)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="device database (default: $VOICE_DATABASE_URL, else sqlite:///<project>/models/voice.db)",
    )
    parser.add_argument("--max-running", type=int, default=4, help="turns answered at once")
    parser.add_argument(
        "--max-queue", type=int, default=32, help="turns waiting beyond those (then 503)"
    )
    parser.add_argument("--rate", type=float, default=5.0, help="turns per second per device")
    parser.add_argument("--burst", type=int, default=10, help="turns in a row per device")
    parser.add_argument(
        "--max-body", type=int, default=16 * 1024, help="largest request body in bytes (413)"
    )
    parser.add_argument("--idle-timeout", type=float, default=300.0, help="seconds a session lasts")
    parser.add_argument(
        "--no-campaigns",
        dest="campaigns",
        action="store_false",
        help="no scene marketing (default: the project's campaigns/*.yaml are attached)",
    )
    parser.add_argument(
        "--poster-interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="look for idle screens to show a sponsored poster every SECONDS (0: never)",
    )
    parser.add_argument(
        "--poster-idle",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="a screen is idle after SECONDS without a turn (default 120)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    add_demo_services(parser)


def run(args: argparse.Namespace) -> int:
    env = os.environ
    port = args.port if args.port is not None else _env_int(env, "VOICE_PORT", 8780)
    workers = args.workers if args.workers is not None else _env_int(env, "VOICE_WORKERS", 1)
    if workers < 1:
        raise VoiceError("--workers must be at least 1")
    if workers > 1 and not args.redis:
        raise VoiceError(
            f"--workers {workers} needs Redis to share sessions: give --redis URL "
            "or set VOICE_REDIS_URL"
        )
    if workers > 1 and port == 0:
        raise VoiceError("--workers needs a fixed --port (the workers share it)")
    if args.poster_interval < 0 or args.poster_idle < 0:
        raise VoiceError("--poster-interval and --poster-idle must be 0 or more seconds")
    settings = _settings(args)
    if workers > 1 and not args.worker:
        return _supervise(workers, port, args, settings)
    return _serve(args, settings, port, workers, reuse_port=args.worker)


def _settings(args: argparse.Namespace) -> ServerSettings:
    from ..server import ServerSettings
    from ..store.database import database_url

    url = args.database or database_url(project_of(args).models_dir)
    return ServerSettings(
        database_url=url,
        redis_url=args.redis,
        max_running=args.max_running,
        max_waiting=args.max_queue,
        rate=args.rate,
        burst=args.burst,
        max_body=args.max_body,
        idle_timeout=args.idle_timeout,
        campaigns=args.campaigns,
        poster_interval=args.poster_interval,
        poster_idle=args.poster_idle,
    )


def listening_line(host: str, port: int, workers: int, settings: ServerSettings) -> str:
    shown = f"[{host}]" if ":" in host else host
    plural = "worker" if workers == 1 else "workers"
    return (
        f"serving on http://{shown}:{port} ({workers} {plural}, "
        f"{settings.describe_store()}, {settings.describe_database()})"
    )


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("voice_runtime").setLevel(logging.INFO)


def _serve(
    args: argparse.Namespace, settings: ServerSettings, port: int, workers: int, reuse_port: bool
) -> int:
    _configure_logging()
    assistant = build_assistant(args, auto_train=not args.worker)

    def announce(bound: int) -> None:
        if args.worker:
            print(READY, flush=True)
        else:
            print(listening_line(args.host, bound, workers, settings), flush=True)

    try:
        project = project_of(args)
        asyncio.run(serve(assistant, settings, args.host, port, reuse_port, announce, project))
    finally:
        assistant.close()
    return 0


async def serve(
    assistant: Assistant,
    settings: ServerSettings,
    host: str,
    port: int,
    reuse_port: bool,
    announce: Callable[[int], None],
    project: Project | None = None,
) -> None:
    """Run the server until SIGINT or SIGTERM; in-flight turns finish before it returns.
    With `project`, its campaigns are attached (unless `settings.campaigns` is off)."""
    from aiohttp import web

    from ..server import create_app

    app = create_app(assistant, settings, project=project)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=settings.shutdown_grace
    )
    await runner.setup()  # opens the database and the store, loads the models
    try:
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
        await site.start()
        bound = int(runner.addresses[0][1]) if runner.addresses else port
        announce(bound)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def _supervise(workers: int, port: int, args: argparse.Namespace, settings: ServerSettings) -> int:
    """Start `workers` processes on one port; stop them together."""
    command = [
        sys.executable,
        "-m",
        "voice_runtime.cli.main",
        "--project",
        str(project_of(args).root),
    ]
    command += ["serve", "--worker", "--workers", "1", "--host", args.host, "--port", str(port)]
    command += ["--database", settings.database_url, "--redis", str(args.redis)]
    command += ["--max-running", str(args.max_running), "--max-queue", str(args.max_queue)]
    command += ["--rate", str(args.rate), "--burst", str(args.burst)]
    command += ["--max-body", str(args.max_body), "--idle-timeout", str(args.idle_timeout)]
    command += ["--poster-interval", str(args.poster_interval)]
    command += ["--poster-idle", str(args.poster_idle)]
    if not args.campaigns:
        command.append("--no-campaigns")
    if args.demo_services:
        command.append("--demo-services")
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(workers)
    ]

    def stop_all(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if line != READY:
                stop_all()
                err(f"voice serve: a worker failed to start (exit {child.wait()})")
                return 1
        print(listening_line(args.host, port, workers, settings), flush=True)
        codes = [child.wait() for child in children]
    finally:
        stop_all()
        for child in children:
            child.wait()
    return max(codes)
