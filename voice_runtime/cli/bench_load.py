"""The load of `voice bench server`: `Result`, what one kind of request measured
(latencies, failures by kind, wall and CPU time), and the closed-loop HTTP devices
that post sentences back to back, each on its own keep-alive connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

import aiohttp

from ..errors import VoiceError
from ..project import Project
from .bench_processes import ServerProcess
from .bench_speech import percentile

TIMEOUT = 60.0  # seconds a request may take before it counts as an error


@dataclass
class Result:
    """Requests of one kind: latencies of those answered, failures by kind."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0  # seconds under load, summed over the blocks
    server_cpu: float = 0.0  # CPU seconds of the server's processes meanwhile
    client_cpu: float = 0.0  # CPU seconds of this load generator meanwhile
    unanswered: Counter[str] = field(default_factory=Counter)  # speech not heard, or untimed
    late: Counter[str] = field(default_factory=Counter)  # messages after an utterance's reply
    after: list[float] = field(default_factory=list)  # speech: end -> last reply audio
    retry_after: int = 0  # 503s that carried Retry-After

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values()) + sum(self.unanswered.values())

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1e3 if self.latencies else float("nan")

    def add(self, outcome: tuple[float, float] | str) -> None:
        """A speech turn: its two latencies, or why it was not answered or timed."""
        if isinstance(outcome, tuple):
            self.latencies.append(outcome[0])
            self.after.append(outcome[1])
        elif outcome.startswith(("idle", "ended by")):
            self.unanswered[outcome] += 1
        else:
            self.errors[outcome] += 1

    @property
    def tail(self) -> float:
        return self.p(0.99) / self.p(0.5) if self.latencies and self.p(0.5) > 0 else float("nan")


# -- text load ------------------------------------------------------------------------------


def sentences_of(project: Project, language: str) -> list[str]:
    """The NLU evaluation sentences: unseen in training, so no exact-match shortcut."""
    path = project.root / "tests" / "eval" / f"nlu_{language}.jsonl"
    lines = path.read_text("utf-8").splitlines() if path.is_file() else []
    texts = [str(json.loads(line)["text"]) for line in lines if line.strip()]
    if not texts:
        raise VoiceError(f"no evaluation sentences in {path}")
    return texts


Poster = Callable[[aiohttp.ClientSession, str], Awaitable[str | None]]
"""Sends one sentence; None when answered, else what went wrong."""


def poster(url: str, language: str | None, expect: bytes, result: Result) -> Poster:
    async def post(session: aiohttp.ClientSession, text: str) -> str | None:
        body = {"text": text} if language is None else {"text": text, "language": language}
        async with session.post(url, json=body) as response:
            data = await response.read()
            if response.status == 503 and response.headers.get("Retry-After"):
                result.retry_after += 1
            if response.status != 200:
                return f"HTTP {response.status}"
            return None if expect in data else f"no {expect.decode()} in the answer"

    return post


async def run_devices(
    result: Result, post: Poster, sessions: Sequence[aiohttp.ClientSession], sentences: list[str],
    turns: int, offset: int,
) -> None:  # fmt: skip
    """Every device at once, `turns` sentences each, back to back."""

    async def device(index: int, session: aiohttp.ClientSession) -> None:
        for turn in range(turns):
            text = sentences[(index * 7 + offset + turn) % len(sentences)]
            start = time.perf_counter()
            try:
                problem = await post(session, text)
            except (TimeoutError, aiohttp.ClientError) as exc:
                problem = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            if problem is None:
                result.latencies.append(time.perf_counter() - start)
            else:
                result.errors[problem] += 1

    await asyncio.gather(*(device(i, s) for i, s in enumerate(sessions)))


@contextlib.contextmanager
def timed(result: Result, server: ServerProcess) -> Iterator[None]:
    """Adds the block's wall time and the CPU time of both sides to `result`."""
    own = os.times()
    wall, cpu = time.perf_counter(), server.cpu()
    yield
    result.wall += time.perf_counter() - wall
    result.server_cpu += server.cpu() - cpu
    result.client_cpu += sum(os.times()[:2]) - sum(own[:2])


def clients(tokens: Sequence[str | None]) -> list[aiohttp.ClientSession]:
    """One HTTP client (one keep-alive connection) per device."""
    return [
        aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT),
            headers={"Authorization": f"Bearer {t}"} if t else None,
            connector=aiohttp.TCPConnector(limit=1),
        )
        for t in tokens
    ]


async def close_all(sessions: Sequence[aiohttp.ClientSession]) -> None:
    await asyncio.gather(*(s.close() for s in sessions))
