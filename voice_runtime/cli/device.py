"""`voice device`: the reference smart-speaker client of a household server.

It streams the microphone (or WAV files played as the microphone, through the
same source path as `voice listen`) to `GET /v1/stream` in 20 ms frames of
16 kHz 16-bit mono PCM, prints the partial and final transcripts and the answer,
and plays the reply audio the server sends sentence by sentence.

- default: hands-free. Every utterance must begin with the wake phrase; the
  server endpoints it. After a question the next utterance needs no wake phrase.
- `--push-to-talk`: Enter starts and Enter ends an utterance; with `--from-wav`
  each file is one utterance (the button held for the file's length).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from ..audio.microphone import AudioSource, Microphone, WavSource
from ..audio.playback import Player
from ..audio.wav import Audio
from ..errors import AudioError, AuthError, InputError, VoiceError
from ..speech.wake import WAKE_PHRASES
from .common import err

FRAME_SAMPLES = 320
"""20 ms of 16 kHz audio per binary frame."""
CONNECT_TIMEOUT = 10.0
REPLY_TIMEOUT = 60.0
"""Longest wait for the server's answer to an utterance that has ended."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="this device's token (voice devices add)")
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="language spoken")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--wake", default=None, help="wake phrase (default per language)")
    mode.add_argument(
        "--push-to-talk",
        action="store_true",
        help="press Enter to start and to stop talking (with --from-wav: one file per utterance)",
    )
    parser.add_argument("--device", default=None, help="input device index or name part")
    parser.add_argument(
        "--from-wav",
        type=Path,
        nargs="+",
        default=None,
        help="play these WAV files as the microphone (for trying the client without one)",
    )
    parser.add_argument(
        "--text",
        nargs="+",
        default=None,
        help="type these requests instead of speaking (a TV's or phone's keyboard)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="stay connected this many seconds (after any --text) and print what the server "
        "pushes, such as a conversation handed to this device",
    )


def run(args: argparse.Namespace) -> int:
    url = stream_url(args.server)
    player = Player()
    if not player.available:
        err("! no audio output device: answers are printed, not spoken")
    client = DeviceClient(
        url, args.token, args.lang, sys.stdout, player if player.available else None
    )
    return asyncio.run(client.main(args))


def stream_url(server: str) -> str:
    """`http://host:port[/prefix]` (or ws://) -> `ws://host:port[/prefix]/v1/stream`."""
    parts = urlsplit(server.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise InputError(f"invalid server URL {server!r}: use http://HOST:PORT")
    try:
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise InputError(f"invalid server URL {server!r}: bad port") from None
    path = parts.path.rstrip("/") + "/v1/stream"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class Playback:
    """Plays reply audio in order on a thread of its own, so receiving never waits."""

    def __init__(self, player: Player | None) -> None:
        self.player = player
        self._queue: queue.Queue[Audio | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failed: str | None = None

    def play(self, audio: Audio) -> None:
        if self.player is None or self.failed:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="playback", daemon=True)
            self._thread.start()
        self._queue.put(audio)

    def _run(self) -> None:
        while (audio := self._queue.get()) is not None:
            try:
                if self.player is not None and not self.failed:
                    self.player.play(audio)
            except AudioError as exc:
                self.failed = str(exc)
                err(f"! {exc}: answers are printed, not spoken")

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()


class DeviceClient:
    """One connection to the server's stream and what it prints."""

    def __init__(
        self, url: str, token: str, language: str, out: TextIO, player: Player | None = None
    ) -> None:
        self.url = url
        self.token = token
        self.language = language
        self.out = out
        self.playback = Playback(player)
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.device = ""
        self.open = False  # an utterance the server has not answered yet
        self.answered = asyncio.Event()
        self.next_wake = True
        self._header: dict[str, Any] | None = None
        self._partial = False

    # -- connecting ------------------------------------------------------------------

    async def main(self, args: argparse.Namespace) -> int:
        if args.text or args.wait > 0:
            return await self.typed(args.text or [], args.wait)
        source: AudioSource = (
            WavSource(*args.from_wav, realtime=not args.push_to_talk)
            if args.from_wav
            else Microphone(args.device)
        )
        wake = None if args.push_to_talk else (args.wake or WAKE_PHRASES[self.language])
        try:
            async with aiohttp.ClientSession() as session:
                await self.connect(session)
                receiver = asyncio.create_task(self.receive())
                try:
                    if args.push_to_talk and args.from_wav:
                        await self.each_file(args.from_wav)
                    elif args.push_to_talk:
                        await self.push_to_talk(source)
                    else:
                        err(f"listening; say {wake!r} (Ctrl-C to stop)")
                        await self.hands_free(source, wake or "")
                finally:
                    if self.ws is not None:
                        await self.ws.close()
                    await asyncio.gather(receiver, return_exceptions=True)
        finally:
            source.close()
            self.playback.close()
        return 0

    async def typed(self, texts: list[str], wait: float) -> int:
        """Text turns over the stream, then (for `wait` seconds) whatever is pushed."""
        async with aiohttp.ClientSession() as session:
            await self.connect(session)
            assert self.ws is not None
            receiver = asyncio.create_task(self.receive())
            try:
                for text in texts:
                    self.say(f"> {text}")
                    self.answered.clear()
                    await self.ws.send_json(
                        {"type": "text", "text": text, "language": self.language}
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.answered.wait(), REPLY_TIMEOUT)
                if wait > 0:
                    await asyncio.wait([receiver], timeout=wait)
            finally:
                await self.ws.close()
                await asyncio.gather(receiver, return_exceptions=True)
                self.playback.close()
        return 0

    async def connect(self, session: aiohttp.ClientSession) -> None:
        """Open the stream and wait for `ready`; one-line VoiceError when that fails."""
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            self.ws = await session.ws_connect(
                self.url, headers=headers, timeout=CONNECT_TIMEOUT, heartbeat=30.0
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise AuthError(f"the server refused the token ({exc.status})") from None
            raise VoiceError(f"cannot open {self.url}: HTTP {exc.status} {exc.message}") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise VoiceError(f"cannot reach the server at {self.url}: {reason}") from None
        message = await self.ws.receive(timeout=CONNECT_TIMEOUT)
        problem = ""
        if message.type == aiohttp.WSMsgType.TEXT:
            data = json.loads(message.data)
            if data.get("type") == "ready":
                self.device = str(data.get("device", ""))
                err(f"connected to {self.url} as {self.device}")
                return
            problem = str(data.get("error", data))
            message = await self.ws.receive(timeout=CONNECT_TIMEOUT)
        code = self.ws.close_code
        if code == 1008 or message.type == aiohttp.WSMsgType.CLOSE and message.data == 1008:
            raise AuthError(f"the server refused the token: {problem or message.extra}")
        raise VoiceError(f"the server closed the stream: {problem or message.extra or code}")

    # -- sending ---------------------------------------------------------------------

    async def start(self, wake: str | None, endpoint: bool = True) -> None:
        assert self.ws is not None
        self.open = True
        self.answered.clear()
        message: dict[str, Any] = {
            "type": "start",
            "language": self.language,
            "wake": wake is not None,
            "endpoint": endpoint,
        }
        if wake is not None:
            message["wake_phrase"] = wake
        await self.ws.send_json(message)

    async def end(self) -> None:
        """Say the utterance ended (unless the server ended it) and wait for the answer."""
        assert self.ws is not None
        if self.open and not self.ws.closed:
            await self.ws.send_json({"type": "end"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.answered.wait(), REPLY_TIMEOUT)

    async def stream(self, source: AudioSource, stop: Callable[[], bool] = lambda: False) -> None:
        """Send the source's audio until it ends, `stop()` or the socket closes."""
        assert self.ws is not None
        while not self.ws.closed and not stop():
            chunk = await asyncio.to_thread(source.read, FRAME_SAMPLES)
            if not chunk:
                return
            await self.ws.send_bytes(chunk)

    async def each_file(self, files: list[Path]) -> None:
        """Push to talk from WAV files: each file is one utterance."""
        for file in files:
            source = WavSource(file)
            try:
                await self.start(None, endpoint=False)
                await self.stream(source)
                await self.end()
            finally:
                source.close()

    async def push_to_talk(self, source: AudioSource) -> None:
        lines = asyncio.Queue[bool]()
        loop = asyncio.get_running_loop()

        def read_lines() -> None:
            for _ in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, True)
            loop.call_soon_threadsafe(lines.put_nowait, False)

        threading.Thread(target=read_lines, name="stdin", daemon=True).start()
        while self.ws is not None and not self.ws.closed:
            err("press Enter, speak, press Enter again (Ctrl-D to stop)")
            if not await lines.get():
                return
            await self.start(None, endpoint=False)
            sending = asyncio.create_task(self.stream(source, lambda: not lines.empty()))
            pressed = await lines.get()
            await sending
            await self.end()
            if not pressed:
                return

    async def hands_free(self, source: AudioSource, wake: str) -> None:
        """Stream all the time; a new utterance starts as soon as the last one is answered."""
        assert self.ws is not None
        while not self.ws.closed:
            if not self.open:
                await self.start(wake if self.next_wake else None)
            chunk = await asyncio.to_thread(source.read, FRAME_SAMPLES)
            if not chunk:
                break
            await self.ws.send_bytes(chunk)
        if self.open:
            await self.end()

    # -- receiving -------------------------------------------------------------------

    async def receive(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.on_message(json.loads(message.data))
            elif message.type == aiohttp.WSMsgType.BINARY:
                self.on_audio(message.data)
        code = self.ws.close_code
        if code not in (None, 1000):
            reason = self.ws.extra if hasattr(self.ws, "extra") else ""
            err(f"! the server closed the stream ({code}{': ' + str(reason) if reason else ''})")
        self.open = False
        self.answered.set()

    def on_message(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "partial":
            self._partial = True
            err(f"  ... {data.get('text', '')}")
        elif kind == "transcript":
            self.say(f"heard: {data.get('text', '')!r}")
        elif kind == "turn":
            self.describe(data, "")
            self.next_wake = not expects_answer(data)
        elif kind == "push":
            self.describe(data.get("turn") or {}, f"pushed ({data.get('reason', '')}): ")
        elif kind == "audio":
            self._header = data
        elif kind == "audio_end":
            self.concluded()
        elif kind == "idle":
            reason = data.get("reason")
            if reason == "wake_only":
                self.say("  (awake: say your request)")
            elif reason == "not_heard":
                self.say("  (not heard)")
            self.next_wake = reason != "wake_only"
            self.concluded()
        elif kind == "error":
            err(f"! server: {data.get('error', '')}")
            self.concluded()

    def on_audio(self, pcm: bytes) -> None:
        header, self._header = self._header, None
        if header is None or header.get("format") != "s16le" or len(pcm) % 2:
            return
        self.playback.play(Audio(pcm, int(header.get("rate", 16000))))

    def concluded(self) -> None:
        self.open = False
        self.answered.set()

    def describe(self, turn: dict[str, Any], prefix: str) -> None:
        route = (
            f" -> {turn.get('intent')} [{turn.get('skill') or '-'}]" if turn.get("intent") else ""
        )
        if prefix:
            self.say(f"{prefix.strip()}{route}")
        elif route:
            self.say(f"  {route.strip()}")
        self.say(f"  answer: {turn.get('speech', '')}")
        card = turn.get("card")
        if card:
            self.say(f"  card: {card.get('title', '')}: {card.get('text', '')}")

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def expects_answer(turn: dict[str, Any]) -> bool:
    """The skill waits for an answer: the next utterance needs no wake phrase."""
    if turn.get("skill") and turn.get("waiting_for"):
        return True
    speech = str(turn.get("speech") or "").rstrip()
    return bool(turn.get("skill")) and speech.endswith(("?", "？"))
