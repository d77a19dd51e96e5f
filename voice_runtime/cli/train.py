"""`voice train [--lang L] [--force]`: train NLU models whose inputs changed."""

from __future__ import annotations

import argparse

from ..nlu.builtin import available_languages
from ..nlu.engine import NluEngine
from ..nlu.train import train, training_data
from ..skills.catalog import Catalog
from .common import err, load_skills, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        choices=["en", "zh"],
        action="append",
        help="only this language (repeatable; default: every language a skill speaks)",
    )
    parser.add_argument("--force", action="store_true", help="retrain even if up to date")


def run(args: argparse.Namespace) -> int:
    project = project_of(args)
    catalog = load_skills(project)
    spoken = skill_languages(catalog)
    for language in args.lang or available_languages(project.nlu_data_dir):
        if not args.lang and language not in spoken:
            # the built-in sentences alone make a model no skill would ever use
            print(f"{language}: no skill speaks {language}, not trained")
            continue
        data = training_data(project, catalog, language)
        print(
            f"{language}: {data.examples} training examples, fingerprint {data.fingerprint[:12]}",
            flush=True,
        )
        state, seconds = train(project, data, force=args.force, notify=err)
        if seconds == 0:
            print(f"{language}: model is up to date, nothing to train ({state.path})")
        else:
            print(f"{language}: trained in {seconds:.1f} s -> {state.path}")
        calibration = NluEngine(project, catalog, auto_train=False).calibration(language)
        if calibration is not None:
            print(calibration.describe())
    return 0


def skill_languages(catalog: Catalog) -> set[str]:
    """The languages the usable skills speak."""
    return {language for skill in catalog.skills for language in skill.languages}
