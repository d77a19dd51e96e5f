"""The mixture weights of a Sphinx acoustic model, between its two file formats.

SphinxTrain reads and writes ``mixture_weights`` (float32 behind an "s3" text header
and a byte-order magic number); PocketSphinx's wheel ships only ``sendump``, the same
weights quantised to a byte each. Adapting the model (``speech/adapt.py``) needs them
as ``mixture_weights``: ``read_sendump`` and ``write_mixture_weights`` turn them back.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import ModelError

MAGIC = 0x11223344
SENDUMP_LOG_BASE = 1.0001
"""PocketSphinx's log base; a sendump byte q stands for the weight base^(-q * 1024)."""
SENDUMP_SHIFT = 10

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class MixtureWeights:
    """Mixture weights, ``weights[senone, stream, density]``, each row summing to 1."""

    weights: Floats

    @property
    def senones(self) -> int:
        return int(self.weights.shape[0])


def read_sendump(path: Path) -> MixtureWeights:
    """The weights of a PocketSphinx ``sendump`` file (ModelError when it is not one).

    Layout: length-prefixed header strings ending with a zero length, the number of
    densities and of senones, then one byte per (stream, density, senone).
    """
    data = path.read_bytes()
    offset = 0

    def word() -> int:
        nonlocal offset
        if offset + 4 > len(data):
            raise ModelError(f"{path}: truncated sendump header")
        (value,) = struct.unpack_from("<i", data, offset)
        offset += 4
        return int(value)

    header: list[str] = []
    while (length := word()) != 0:
        if length < 0 or offset + length > len(data):
            raise ModelError(f"{path}: not a sendump file (bad header string length)")
        header.append(data[offset : offset + length].rstrip(b"\0").decode("latin-1"))
        offset += length
    densities, senones = word(), word()
    body = len(data) - offset
    if densities <= 0 or senones <= 0 or body % (densities * senones):
        raise ModelError(f"{path}: sendump sizes do not match ({densities} x {senones})")
    streams = body // (densities * senones)
    quantised = np.frombuffer(data, np.uint8, streams * densities * senones, offset)
    cube = quantised.reshape(streams, densities, senones).astype(np.float64)
    weights = np.power(SENDUMP_LOG_BASE, -cube * (1 << SENDUMP_SHIFT))
    weights /= weights.sum(axis=1, keepdims=True)
    return MixtureWeights(np.ascontiguousarray(weights.transpose(2, 0, 1), dtype=np.float32))


def _header(fields: dict[str, str]) -> bytes:
    """An s3 header whose magic number lands 4-byte aligned (PocketSphinx maps it)."""
    lines = "s3\n" + "".join(f"{key} {value}\n" for key, value in fields.items())
    end = "endhdr\n"
    pad = (-(len(lines) + len("padding \n") + len(end))) % 4
    return (lines + "padding " + "x" * pad + "\n" + end).encode("ascii")


def write_mixture_weights(path: Path, mixw: MixtureWeights) -> None:
    """Write ``mixw`` as a SphinxTrain ``mixture_weights`` file."""
    senones, streams, densities = mixw.weights.shape
    head = _header({"version": "1.0"})
    sizes = struct.pack("<5i", MAGIC, senones, streams, densities, mixw.weights.size)
    path.write_bytes(head + sizes + mixw.weights.astype("<f4").tobytes())
