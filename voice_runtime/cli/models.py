"""`voice models list|download NAME|verify [NAME]|remove NAME`: Vosk speech models.

Only `download` reaches the network. Models go to ``models/asr/<name>/`` of the project.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path

from ..errors import InputError, ModelError
from ..speech.download import (
    BASE_URL_ENV,
    DEFAULT_TIMEOUT,
    TextProgress,
    install_model,
    partial_size,
    resolve_url,
)
from ..speech.model_store import (
    MB,
    REGISTRY,
    Manifest,
    ModelSpec,
    asr_dir,
    find_model,
    installed_names,
    remove_model,
    verify_model,
)
from .common import err, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="the known models, installed or not")
    download = sub.add_parser("download", help="download and install a model")
    download.add_argument("name", help="model name (see 'voice models list')")
    download.add_argument(
        "--base-url",
        default=None,
        help=f"where the registry's archives are (default: ${BASE_URL_ENV}, else alphacephei.com)",
    )
    download.add_argument("--url", default=None, help="an archive URL for a model not listed")
    download.add_argument(
        "--sha256",
        default=None,
        help="expected sha256 of the archive (instead of the registry's, if it has one)",
    )
    download.add_argument(
        "--language", default="unknown", help="language of a --url model (e.g. en, zh)"
    )
    download.add_argument("--force", action="store_true", help="replace an installed model")
    download.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to connect and between reads (default {DEFAULT_TIMEOUT:g})",
    )
    verify = sub.add_parser("verify", help="check installed files against their manifest")
    verify.add_argument("name", nargs="?", help="one model (default: every installed model)")
    remove = sub.add_parser("remove", help="delete an installed model")
    remove.add_argument("name", help="installed model name")


def run(args: argparse.Namespace) -> int:
    models_dir = project_of(args).models_dir
    action = {
        "list": _list,
        "download": _download,
        "verify": _verify,
        "remove": _remove,
    }[args.models_command]
    return action(args, models_dir)


def _list(args: argparse.Namespace, models_dir: Path) -> int:
    """Print the registry (and any other installed model) with its state."""
    installed = installed_names(models_dir)
    names = [spec.name for spec in REGISTRY] + [n for n in installed if n not in _known()]
    print(f"{'NAME':34} {'LANG':8} {'SIZE':9} STATE")
    for name in names:
        spec = _known().get(name)
        language = spec.language if spec else _language_of(models_dir, name)
        size = f"~{spec.approx_size / MB:.0f} MB" if spec and spec.approx_size else "?"
        print(f"{name:34} {language:8} {size:9} {_state(models_dir, name, installed)}")
    print(f"(sizes are approximate; models live in {asr_dir(models_dir)})")
    return 0


def _download(args: argparse.Namespace, models_dir: Path) -> int:
    """Download, check and install one model."""
    spec = _spec_of(args)
    url = args.url or resolve_url(spec, args.base_url)
    result = install_model(
        models_dir,
        spec,
        url,
        force=args.force,
        timeout=args.timeout,
        progress=TextProgress(spec.name),
    )
    resumed = f", resumed at {result.resumed_from / MB:.1f} MB" if result.resumed_from else ""
    print(
        f"installed {result.name} -> {result.path} ({result.files} files, "
        f"{result.archive_bytes / MB:.1f} MB archive{resumed}, sha256 {result.sha256[:12]})"
    )
    return 0


def _verify(args: argparse.Namespace, models_dir: Path) -> int:
    """Check one or every installed model; one line per problem on stderr."""
    names = [args.name] if args.name else installed_names(models_dir)
    if not names:
        print("no speech models installed")
        return 0
    failed = False
    for name in names:
        problems = verify_model(models_dir, name)
        for problem in problems:
            err(f"voice models verify: {problem}")
        if problems:
            failed = True
        else:
            print(f"ok {name}")
    return 1 if failed else 0


def _remove(args: argparse.Namespace, models_dir: Path) -> int:
    """Delete one installed model (or its partial download)."""
    path = remove_model(models_dir, args.name)
    print(f"removed {path}")
    return 0


def _spec_of(args: argparse.Namespace) -> ModelSpec:
    """The registry entry, or an ad-hoc one for ``--url``; ``--sha256`` replaces its checksum.

    The archive is checked against ``--sha256`` when given, else against the registry's
    checksum (a registry model fetched from the registry or a ``--base-url`` mirror).
    """
    if args.sha256 and not re.fullmatch(r"[0-9a-fA-F]{64}", args.sha256):
        raise InputError(f"--sha256 needs 64 hex digits, got {args.sha256!r}")
    sha256 = args.sha256.lower() if args.sha256 else None
    if args.url:
        spec = _known().get(args.name)
        if spec is None:
            return ModelSpec(args.name, args.language, args.url, None, sha256)
        return ModelSpec(spec.name, spec.language, args.url, spec.approx_size, sha256)
    spec = find_model(args.name)
    return replace(spec, sha256=sha256) if sha256 else spec


def _known() -> dict[str, ModelSpec]:
    """The registry by name."""
    return {spec.name: spec for spec in REGISTRY}


def _state(models_dir: Path, name: str, installed: list[str]) -> str:
    """'installed', 'partial download (X MB)' or 'not installed'."""
    if name in installed:
        return "installed"
    partial = partial_size(models_dir, name)
    if partial:
        return f"not installed (partial download {partial / MB:.1f} MB, run download to resume)"
    return "not installed"


def _language_of(models_dir: Path, name: str) -> str:
    """The language recorded in an installed model's manifest ('?' when unreadable)."""
    try:
        return Manifest.read(asr_dir(models_dir) / name).language
    except ModelError:
        return "?"
