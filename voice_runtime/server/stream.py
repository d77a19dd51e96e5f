"""`GET /v1/stream`: a device's WebSocket for streamed speech, text turns and pushes.

Binary frames carry 16 kHz 16-bit mono little-endian PCM; text frames carry JSON
control messages (the protocol table is in the README). The server endpoints and
decodes while audio arrives, so the transcript is ready as soon as the utterance
ends: every recogniser call runs in a worker thread, never on the event loop.

Each connection borrows one recogniser per language from the process's
`RecognizerPool` (``recognizers.py``) and gives it back, reset, when the socket
closes, however it closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.typedefs import JSONEncoder

from ..audio.endpoint import EndpointConfig, Endpointer, NoSpeech, UtteranceEnded
from ..audio.resample import to_16k_mono
from ..audio.utterance import listen_on
from ..audio.wav import Audio
from ..dialog.turn import Turn
from ..errors import AudioError, VoiceError
from ..languages import LANGUAGES
from ..people import Device
from ..speech.context import Expectation
from ..speech.recognizer import Recognizer, Transcript
from ..speech.wake import WAKE_PHRASES, split_wake
from ..spoken import expected_after, heard_text, speech_audio_async
from ..store.sessions import StoreUnavailable
from . import app as server  # its keys, read at run time (app.py imports this module)
from .auth import authenticate
from .limits import QueueFull
from .protocol import turn_json
from .recognizers import recognizer_pool

log = logging.getLogger(__name__)

RATE = 16000
MAX_UTTERANCE_SECONDS = 30.0
"""Audio accepted per utterance (from its `start` to the next one); more closes with 1009."""
MAX_FRAME_BYTES = 1 << 20
"""Largest single WebSocket message (aiohttp closes with 1009 above it)."""
MAX_CONTROL_CHARS = 4000
"""Largest JSON control message."""
MAX_UTTERANCE_BYTES = int(MAX_UTTERANCE_SECONDS * RATE) * 2
MAX_WAKE_CHARS = 64
MAX_REASON_BYTES = 120  # a close reason must fit in a control frame (125 bytes)
HEARTBEAT = 30.0
CLOSE_POLICY = 1008  # bad or revoked token (RFC 6455 "policy violation")
CLOSE_TOO_BIG = 1009  # too much audio in one utterance
CLOSE_TRY_LATER = 1013  # the device registry is unavailable


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


# -- one utterance ------------------------------------------------------------------------


@dataclass
class Utterance:
    """An utterance being streamed: endpointing and decoding as audio arrives."""

    recognizer: Recognizer
    language: str
    wake: str | None
    """The wake phrase the utterance must begin with, or None."""
    endpointer: Endpointer | None
    """None: only the client's `end` ends the utterance (push to talk)."""
    received: int = 0
    done: bool = False
    partial: str = ""
    transcript: Transcript | None = None
    """Decoded when the endpointer ended the utterance."""

    def __post_init__(self) -> None:
        self.recognizer.start()

    def feed(self, pcm: bytes) -> tuple[str | None, UtteranceEnded | NoSpeech | None]:
        """Decode a chunk (blocking); a new partial text, and the end if the endpointer heard
        it. Noise (no words, or a stray word of no command) does not end it: listening goes
        on, as in ``audio/utterance.py``."""
        partial = self.recognizer.feed(pcm)
        ended: UtteranceEnded | NoSpeech | None = None
        for event in self.endpointer.feed(pcm) if self.endpointer else ():
            if isinstance(event, UtteranceEnded | NoSpeech):
                ended = event
        if isinstance(ended, UtteranceEnded) and self.endpointer is not None:
            self.transcript = self.recognizer.finish()
            if listen_on(self.recognizer, self.endpointer, self.transcript):
                self.transcript, ended, partial = None, None, None
        fresh = None
        if partial and partial != self.partial:
            self.partial = fresh = partial
        return fresh, ended

    def finish(self) -> Transcript:
        """The transcript (decoded now, unless the endpointer's end decoded it)."""
        if self.transcript is not None:
            return self.transcript
        return self.recognizer.finish()


# -- the connection -----------------------------------------------------------------------


class ProtocolError(VoiceError):
    """A control message that cannot be used (answered with an error message)."""


def parse_control(data: str) -> dict[str, Any]:
    """A JSON control message as a dict with a known `type`; ProtocolError otherwise."""
    if len(data) > MAX_CONTROL_CHARS:
        raise ProtocolError(f"control message too long ({len(data)} characters)")
    try:
        message = json.loads(data)
    except ValueError as exc:
        raise ProtocolError(f"invalid JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a control message must be a JSON object")
    kind = message.get("type")
    if kind not in ("start", "end", "cancel", "text"):
        raise ProtocolError(f"unknown message type {kind!r}; use start, end, cancel or text")
    return message


def _language(message: dict[str, Any], default: str | None) -> str | None:
    language = message.get("language", default)
    if language is not None and language not in LANGUAGES:
        raise ProtocolError(f"unknown language {language!r}; use one of: {', '.join(LANGUAGES)}")
    return language if isinstance(language, str) or language is None else None


class StreamSocket(web.WebSocketResponse):
    """A WebSocket whose sends never interleave: a push sent by the hub can never land
    between an `audio` message and the binary frame it announces."""

    def __init__(self) -> None:
        super().__init__(heartbeat=HEARTBEAT, max_msg_size=MAX_FRAME_BYTES)
        self.send_lock = asyncio.Lock()

    async def send_json(
        self, data: Any, compress: bool | None = None, *, dumps: JSONEncoder = _dumps
    ) -> None:
        async with self.send_lock:
            await super().send_json(data, compress, dumps=dumps)

    async def send_audio(self, header: dict[str, Any], pcm: bytes) -> None:
        async with self.send_lock:
            await super().send_json(header, dumps=_dumps)
            await super().send_bytes(pcm)


class Stream:
    """One device's open WebSocket."""

    def __init__(self, ws: StreamSocket, device: Device, app: web.Application) -> None:
        self.ws = ws
        self.device = device
        self.app = app
        self.pool = recognizer_pool(app)
        self.recognizer: Recognizer | None = None
        self.expected: Expectation | None = None  # what this device's last turn asked for
        self.utterance: Utterance | None = None
        self._warned = False
        self._started = False

    async def send(self, message: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_json(message)

    async def error(self, text: str) -> None:
        await self.send({"type": "error", "error": " ".join(text.split())})

    # -- receiving

    async def run(self) -> None:
        await self.send({"type": "ready", "device": self.device.id})
        while True:
            message = await self.ws.receive()
            if message.type == WSMsgType.TEXT:
                await self.on_control(message.data)
            elif message.type == WSMsgType.BINARY:
                await self.refusing(self.on_audio(message.data))
            elif message.type == WSMsgType.ERROR:
                log.info("stream of %s: %s", self.device.id, self.ws.exception())
                return
            else:  # CLOSE, CLOSING (the server closes it: shutdown), CLOSED
                return

    async def refusing(self, work: Awaitable[None]) -> None:
        """Run `work`; a refusal or bad input becomes one error message, the socket stays."""
        try:
            await work
        except (VoiceError, Refused) as exc:
            if isinstance(exc, Refused):
                self.app[server.METRICS].error(exc.kind)
            await self.error(str(exc))

    async def on_control(self, data: str) -> None:
        await self.refusing(self._control(data))

    async def _control(self, data: str) -> None:
        message = parse_control(data)
        kind = message["type"]
        if kind == "start":
            await self.start(message)
        elif kind == "end":
            await self.end()
        elif kind == "cancel":
            await self.cancel()
        else:
            await self.text(message)

    async def start(self, message: dict[str, Any]) -> None:
        language = _language(message, self.device.language) or "en"
        wake = _flag(message, "wake", False)
        endpoint = _flag(message, "endpoint", True)
        phrase = message.get("wake_phrase", WAKE_PHRASES[language])
        if not isinstance(phrase, str) or not 0 < len(phrase.strip()) <= MAX_WAKE_CHARS:
            raise ProtocolError(f"'wake_phrase' must be text of 1-{MAX_WAKE_CHARS} characters")
        await self.cancel()
        self._started = True
        recognizer = await self._recognizer(language)
        await asyncio.to_thread(recognizer.expect, self.expected)
        endpointer = Endpointer(EndpointConfig()) if endpoint else None
        self.utterance = await asyncio.to_thread(
            Utterance, recognizer, language, phrase if wake else None, endpointer
        )

    async def _recognizer(self, language: str) -> Recognizer:
        if self.recognizer is not None and self.recognizer.language != language:
            recognizer, self.recognizer = self.recognizer, None
            await self.pool.release(recognizer)
        if self.recognizer is None:
            self.recognizer = await self.pool.acquire(language)
        return self.recognizer

    async def on_audio(self, pcm: bytes) -> None:
        utterance = self.utterance
        if utterance is None:
            if not self._warned and not self._started:  # once, and only before any start:
                # afterwards it is audio still in flight after an utterance ended or was
                # cancelled, which a device cannot avoid sending
                self._warned = True
                await self.error('audio before start: send {"type": "start"} first')
            return
        utterance.received += len(pcm)
        if utterance.received > MAX_UTTERANCE_BYTES:
            self.app[server.METRICS].error("too_much_audio")
            await self.ws.close(
                code=CLOSE_TOO_BIG,
                message=f"utterance longer than {MAX_UTTERANCE_SECONDS:g} s".encode(),
            )
            return
        if utterance.done:
            return  # the server ended it already; audio still in flight is dropped
        partial, ended = await asyncio.to_thread(utterance.feed, pcm)
        if partial:
            await self.send({"type": "partial", "text": partial})
        if isinstance(ended, UtteranceEnded):
            await self.finish(utterance)
        elif isinstance(ended, NoSpeech):
            utterance.done = True
            await asyncio.to_thread(utterance.finish)
            await self.send({"type": "idle", "reason": "no_speech"})

    async def end(self) -> None:
        utterance = self.utterance
        if utterance is None:
            if not self._started:
                raise ProtocolError("end without start")
            return  # its start failed (the device was told) or it was cancelled: no reply
        if not utterance.done:
            await self.finish(utterance)

    async def cancel(self) -> None:
        """Drop the open utterance, if any (its recogniser is reset)."""
        utterance, self.utterance = self.utterance, None
        if utterance is not None and not utterance.done:
            utterance.done = True
            await asyncio.to_thread(utterance.finish)

    async def finish(self, utterance: Utterance) -> None:
        """The utterance ended: transcript, then (after the wake phrase) the turn and reply."""
        utterance.done = True
        started = time.perf_counter()
        transcript = await asyncio.to_thread(utterance.finish)
        await self.send(
            {"type": "transcript", "text": transcript.text, "confidence": transcript.confidence}
        )
        request = transcript.text
        if utterance.wake is not None:
            match = split_wake(request, utterance.wake)
            if not match.woke:
                await self.send({"type": "idle", "reason": "no_wake"})
                return
            if not match.request:
                await self.send({"type": "idle", "reason": "wake_only"})
                return
            request = match.request
        if not request.strip():
            await self.send({"type": "idle", "reason": "not_heard"})
            return
        if transcript.rejected:
            await self.send({"type": "idle", "reason": "not_a_command"})
            return
        text = heard_text(request, utterance.language)
        await self.answer(text, utterance.language, True, started, "stream_audio")

    async def text(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ProtocolError("a text message needs a non-empty 'text'")
        if len(text) > MAX_CONTROL_CHARS:
            raise ProtocolError(f"text too long ({len(text)} characters)")
        language = _language(message, None)
        audio = _flag(message, "audio", True)
        await self.answer(text, language, audio, time.perf_counter(), "stream_text")

    async def answer(
        self, text: str, language: str | None, audio: bool, started: float, transport: str
    ) -> None:
        """One turn under the server's limits, then the reply (turn, audio frames, audio_end)."""
        app = self.app
        limits = app[server.LIMITS]
        wait = limits.rate.check(self.device.id)
        if wait is not None:
            raise Refused(f"too many turns from device {self.device.id}; wait {wait} s", "rate")
        status = app[server.STATUS]
        try:
            async with limits.queue.slot():
                turn = await app[server.HOUSEHOLD].turn(self.device, text, language)
        except QueueFull as exc:
            raise Refused(str(exc), "queue_full") from None
        except StoreUnavailable as exc:
            status.store_failed(exc)
            raise Refused("session store unavailable; try again shortly", "store") from None
        except TimeoutError:
            raise Refused(f"the conversation of {self.device.id} is busy", "busy") from None
        status.store_ok()
        self.expected = expected_after(turn, app[server.HOUSEHOLD].assistant.catalog)
        app[server.METRICS].turn(turn, self.device, time.perf_counter() - started, transport)
        await self.reply(turn, audio)

    async def reply(self, turn: Turn, audio: bool) -> None:
        """The turn, then its speech sentence by sentence, then `audio_end`."""
        await self.send({"type": "turn", **turn_json(turn, self.device)})
        speech = turn.response.speech
        if audio and self.device.has_speaker and speech.strip():
            index = 0
            try:
                async for sound in speech_audio_async(
                    self.app[server.SPEAKER], speech, turn.language
                ):
                    sound = s16le_mono(sound)
                    header = {
                        "type": "audio",
                        "index": index,
                        "rate": sound.rate,
                        "format": "s16le",
                    }
                    if self.ws.closed:
                        return
                    await self.ws.send_audio(header, sound.samples)
                    index += 1
            except AudioError as exc:
                self.app[server.METRICS].error("tts")
                await self.error(f"speech synthesis failed: {exc}")
        await self.send({"type": "audio_end"})

    async def close(self) -> None:
        """Give the recogniser back (reset); called however the socket ended."""
        self.utterance = None
        recognizer, self.recognizer = self.recognizer, None
        if recognizer is not None:
            await self.pool.release(recognizer)


class Refused(Exception):
    """A turn the server's limits or store refused (an error message; the socket stays open)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


def _flag(message: dict[str, Any], name: str, default: bool) -> bool:
    value = message.get(name, default)
    if not isinstance(value, bool):
        raise ProtocolError(f"{name!r} must be true or false")
    return value


def s16le_mono(audio: Audio) -> Audio:
    """Reply audio as 16-bit mono (what `format: s16le` promises)."""
    if audio.width == 2 and audio.channels == 1:
        return audio
    return to_16k_mono(audio)


async def stream_handler(request: web.Request) -> web.StreamResponse:
    """GET /v1/stream: authenticate, then run the device's stream until it closes."""
    app = request.app
    ws = StreamSocket()
    try:
        device = await authenticate(request, app[server.REGISTRY], websocket=True)
    except web.HTTPException as exc:  # 401 or 503, told over the socket (browsers see no 401)
        reason = _reason(exc)
        app[server.METRICS].error("unauthorized" if exc.status == 401 else "unavailable")
        await ws.prepare(request)
        await ws.send_json({"type": "error", "error": reason})
        code = CLOSE_POLICY if exc.status == 401 else CLOSE_TRY_LATER
        await ws.close(code=code, message=reason.encode()[:MAX_REASON_BYTES])
        return ws
    await ws.prepare(request)
    sockets = app[server.WEBSOCKETS]
    hub = app[server.PUSH]
    stream = Stream(ws, device, app)
    sockets.add(ws)
    hub.register(device.id, ws)
    try:
        await stream.run()
    finally:
        hub.unregister(device.id, ws)
        sockets.discard(ws)
        await stream.close()
        await server.close_websocket(app, ws)  # 1001 with the reason while the server stops
    return ws


def _reason(exc: web.HTTPException) -> str:
    try:
        return str(json.loads(exc.text or "")["error"])
    except (ValueError, KeyError, TypeError):
        return exc.reason
