"""The servers of `voice bench server`, as subprocesses: free loopback ports, a
server's process group (start, readiness, stop, CPU and memory from /proc), the
copy of the NLU model that `rasa run` loads, and the bench's registered devices.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import tarfile
import time
from pathlib import Path

import aiohttp

from ..errors import VoiceError

START_TIMEOUT = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A server in its own process group (its workers too); `stop` ends the group."""

    def __init__(self, name: str, command: list[str], log: Path, port: int) -> None:
        self.name, self.command, self.log = name, command, log
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started = self.ready_after = 0.0

    def start(self) -> ServerProcess:
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
        with open(self.log, "wb") as log:
            self.started = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def failure(self, what: str) -> VoiceError:
        tail = self.log.read_text("utf-8", "replace").strip().splitlines()[-15:]
        return VoiceError(f"{self.name} {what}; the end of its log:\n  " + "\n  ".join(tail))

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL if it is still there 15 s later."""
        process, self.process = self.process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        process.wait()

    def pids(self) -> list[int]:
        """The process and its descendants (the workers of `--workers N`)."""
        if self.process is None:
            return []
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit():
                    stat = (entry / "stat").read_text()
                    parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
        found = [self.process.pid]
        for pid in found:
            found.extend(child for child, parent in parents.items() if parent == pid)
        return found

    def cpu(self) -> float:
        """CPU seconds used so far by the server's processes (user and system)."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return total / os.sysconf("SC_CLK_TCK")

    def memory(self) -> list[tuple[int, int, int]]:
        """(pid, VmRSS kB, VmHWM kB) of each process of the server."""
        rows = []
        for pid in self.pids():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            kb = {
                k: int(v.split()[0])
                for k, _, v in (x.partition(":") for x in lines)
                if k[:2] == "Vm"
            }
            rows.append((pid, kb.get("VmRSS", 0), kb.get("VmHWM", 0)))
        return rows

    async def wait_ready(self, path: str, body: dict[str, str] | None = None) -> None:
        """Until `GET path` (or `POST path` with `body`) answers 200; a clear error otherwise."""
        deadline = time.perf_counter() + START_TIMEOUT
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while time.perf_counter() < deadline:
                if not self.alive():
                    raise self.failure("exited before it was ready")
                try:
                    method = "GET" if body is None else "POST"
                    async with session.request(method, self.base + path, json=body) as response:
                        if response.status == 200:
                            self.ready_after = time.perf_counter() - self.started
                            return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                await asyncio.sleep(0.5)
        raise self.failure(f"did not answer within {START_TIMEOUT:.0f} s")


def rasa_default_model(model: Path, folder: Path) -> Path:
    """A copy of the model archive with DIET's `run_eagerly` back to Rasa's default."""
    unpacked = folder / "rasa-model"
    with tarfile.open(model, "r:gz") as source:
        source.extractall(unpacked, filter="data")
    metadata_path = unpacked / "metadata.json"
    metadata = json.loads(metadata_path.read_text("utf-8"))
    for node in metadata["predict_schema"]["nodes"].values():
        if node["uses"].endswith("DIETClassifier"):
            node["config"]["run_eagerly"] = False
    metadata_path.write_text(json.dumps(metadata), "utf-8")
    target = folder / "rasa-model.tar.gz"
    with tarfile.open(target, "w:gz") as packed:
        for item in sorted(unpacked.iterdir()):
            packed.add(item, arcname=item.name)
    return target


def register_devices(url: str, count: int, language: str) -> list[str]:
    """`count` speakers, one person each; their tokens."""
    from ..store.database import open_database
    from ..store.devices import DeviceRegistry

    engine = open_database(url)
    try:
        registry = DeviceRegistry(engine)
        add = registry.add
        return [
            add(
                f"bench{i:03d}",
                "speaker",
                f"Bench {i}",
                language=language,
                device_id=f"bench-{i:03d}",
            )[1]
            for i in range(count)
        ]
    finally:
        engine.dispose()
