"""`voice validate [PATH...]`: every problem in the skills, as file:line:column."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..skills.catalog import load_catalog
from .common import project_of, reserved_sentences


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="skill files or directories (default: the project's skills/)",
    )


def run(args: argparse.Namespace) -> int:
    project = project_of(args)
    catalog = load_catalog(args.paths or [project.skills_dir], reserved_sentences(project))
    for diagnostic in catalog.diagnostics:
        print(diagnostic)
    errors = sum(d.severity == "error" for d in catalog.diagnostics)
    warnings = len(catalog.diagnostics) - errors
    files = len(catalog.skills) + len(catalog.skipped)
    print(
        f"{files} skill file(s): {len(catalog.skills)} valid, {errors} error(s), "
        f"{warnings} warning(s)"
    )
    return 1 if errors else 0
