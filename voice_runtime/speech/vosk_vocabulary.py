"""The words a Vosk model can output: its ``graph/words.txt``, else the output
symbol table embedded in its ``graph/Gr.fst`` (an OpenFst binary, read here
without OpenFst).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996


def read_vocabulary(model_dir: Path) -> frozenset[str] | None:
    """The model's word list: ``graph/words.txt``, else the symbols inside ``graph/Gr.fst``."""
    words_txt = model_dir / "graph" / "words.txt"
    try:
        if words_txt.is_file():
            with words_txt.open(encoding="utf-8") as lines:
                return frozenset(line.split(" ", 1)[0] for line in lines if line.strip())
        grammar = model_dir / "graph" / "Gr.fst"
        if grammar.is_file():
            return _fst_output_symbols(grammar)
    except (OSError, UnicodeDecodeError, ValueError, struct.error):
        return None
    return None


def _fst_output_symbols(path: Path) -> frozenset[str] | None:
    """The output symbol table embedded in an OpenFst binary file, if it has one."""
    with path.open("rb") as handle:
        reader = _Reader(handle)
        if reader.int32() != _FST_MAGIC:
            return None
        reader.string(), reader.string()  # fst type, arc type
        reader.int32()  # version
        flags = reader.int32()
        reader.skip(8 + 3 * 8)  # properties, start state, number of states and arcs
        if not flags & 2:
            return None
        if flags & 1:  # the input symbols come first
            reader.symbols(keep=False)
        return frozenset(reader.symbols())


class _Reader:
    """Little-endian reads from a file, buffered in large blocks (OpenFst's binary layout)."""

    def __init__(self, handle: BinaryIO, block: int = 1 << 20) -> None:
        self.handle = handle
        self.block = block
        self.data = b""
        self.position = 0

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes; ValueError at the end of the file."""
        if self.position + size > len(self.data):
            more = self.handle.read(max(self.block, size))
            self.data = self.data[self.position :] + more
            self.position = 0
            if size > len(self.data):
                raise ValueError("truncated OpenFst file")
        value = self.data[self.position : self.position + size]
        self.position += size
        return value

    def _refill(self) -> None:
        """Append the next block; ValueError at the end of the file."""
        more = self.handle.read(self.block)
        if not more:
            raise ValueError("truncated OpenFst file")
        self.data = self.data[self.position :] + more
        self.position = 0

    def int32(self) -> int:
        return int(struct.unpack("<i", self.take(4))[0])

    def int64(self) -> int:
        return int(struct.unpack("<q", self.take(8))[0])

    def string(self) -> str:
        return self.take(self.int32()).decode("utf-8", "replace")

    def skip(self, size: int) -> None:
        self.take(size)

    def symbols(self, keep: bool = True) -> list[str]:
        """A symbol table's words (their numeric keys skipped); empty unless ``keep``."""
        if self.int32() != _SYMBOLS_MAGIC:
            raise ValueError("not an OpenFst symbol table")
        self.string()  # name
        self.skip(8)  # available key
        words: list[str] = []
        left = self.int64()
        unpack = struct.unpack_from
        while left:  # the hot loop: parse whole buffered blocks at once
            data, position = self.data, self.position
            end = len(data)
            while left and position + 4 <= end:
                (size,) = unpack("<i", data, position)
                if position + 12 + size > end:
                    break
                if keep:
                    words.append(
                        data[position + 4 : position + 4 + size].decode("utf-8", "replace")
                    )
                position += 12 + size
                left -= 1
            self.position = position
            if left:
                self._refill()
        return words
