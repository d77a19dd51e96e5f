"""Split the coffee labels into folds, for measuring an adapted model on clips it never saw.

    .venv/bin/python tests/coffee/folds.py tests/coffee/labels.json OUT_DIR 2

writes ``OUT_DIR/fold-K.json`` (every Nth recording from the Kth, in the labels' order)
and ``OUT_DIR/rest-K.json`` (all the others) for K = 0 .. N-1: adapt on ``rest-K``,
evaluate on ``fold-K``, and no recording is scored by a model that learned from it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(labels: Path, out: Path, folds: int) -> None:
    entries = list(json.loads(labels.read_text("utf-8")).items())
    out.mkdir(parents=True, exist_ok=True)
    for fold in range(folds):
        held = dict(entries[fold::folds])
        rest = {key: value for key, value in entries if key not in held}
        for name, part in (("fold", held), ("rest", rest)):
            (out / f"{name}-{fold}.json").write_text(json.dumps(part, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
