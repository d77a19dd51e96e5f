"""`voice validate [PATH...]`: every problem in the skills and campaigns, as file:line:column.

With no path: the project's `skills/` and, when it exists, `campaigns/`. With paths
(files, or directories whose YAML files are checked): each file as what it is. A
file directly inside a folder named `campaigns` is a campaign, one directly inside
`skills` a skill; any other file is a campaign when its top level has `promotes:`,
`flight:` or `creatives:`, else a skill. Campaigns are checked against the skills
named on the same command line and the project's `skills/`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..campaigns.catalog import CampaignCatalog, is_campaign_file, load_campaigns
from ..project import Project
from ..skills.catalog import Catalog, load_catalog, skill_files
from ..skills.diagnostics import Diagnostic
from .common import project_of, reserved_sentences


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="skill or campaign files or directories "
        "(default: the project's skills/ and campaigns/)",
    )


def run(args: argparse.Namespace) -> int:
    project = project_of(args)
    if args.paths:
        files = skill_files(args.paths)
        campaign_paths = [path for path in files if is_campaign_file(path)]
        skill_paths = [path for path in files if path not in campaign_paths]
    else:
        campaigns_dir = project.root / "campaigns"
        skill_paths = [project.skills_dir]
        campaign_paths = [campaigns_dir] if campaigns_dir.is_dir() else []
    skills = load_catalog(skill_paths, reserved_sentences(project)) if skill_paths else None
    campaigns = None
    if campaign_paths:
        known = skills if not args.paths and skills is not None else _skills_for(project, skills)
        campaigns = load_campaigns(campaign_paths, known)
    for diagnostic in (skills.diagnostics if skills else []) + (
        campaigns.diagnostics if campaigns else []
    ):
        print(diagnostic)
    errors = 0
    if skills is not None or campaigns is None:
        errors += _summary("skill", skills or Catalog([], []))
    if campaigns is not None:
        errors += _summary("campaign", campaigns)
    return 1 if errors else 0


def _skills_for(project: Project, named: Catalog | None) -> Catalog:
    """The skills campaigns are checked against: those named, then the project's others."""
    skills = list(named.skills) if named else []
    skipped = dict(named.skipped) if named else {}
    if project.skills_dir.is_dir():
        project_skills = load_catalog([project.skills_dir], reserved_sentences(project))
        ids = {skill.id for skill in skills}
        skills += [skill for skill in project_skills.skills if skill.id not in ids]
        for file, reason in project_skills.skipped.items():
            skipped.setdefault(file, reason)
    return Catalog(skills, [], skipped)


def _summary(kind: str, catalog: Catalog | CampaignCatalog) -> int:
    """Print `N <kind> file(s): ...`; the number of errors."""
    diagnostics: list[Diagnostic] = catalog.diagnostics
    errors = sum(d.severity == "error" for d in diagnostics)
    valid = len(catalog.skills) if isinstance(catalog, Catalog) else len(catalog.campaigns)
    print(
        f"{valid + len(catalog.skipped)} {kind} file(s): {valid} valid, {errors} error(s), "
        f"{len(diagnostics) - errors} warning(s)"
    )
    return errors
