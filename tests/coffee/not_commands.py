"""Speech that is no command, for the false-accept rate: espeak-ng says each line of
``not_commands.txt`` into DIR as WAV, and DIR/labels.json labels every file
``out_of_scope`` (the assistant's "I can't help with that").

    .venv/bin/python tests/coffee/not_commands.py DIR
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = (HERE / "not_commands.txt").read_text(encoding="utf-8").splitlines()
    sentences = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    labels = {}
    for number, text in enumerate(sentences):
        name = f"not-command-{number:02d}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(folder / name), text], check=True)
        labels[name] = {"intent": "out_of_scope", "slots": {}}
    (folder / "labels.json").write_text(json.dumps(labels, indent=1) + "\n", encoding="utf-8")
    print(f"{len(labels)} sentences that are no command in {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
