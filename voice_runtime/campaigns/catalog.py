"""All campaigns of a project, checked one by one and against the skills they promote.

Like the skill catalog: a campaign with an error is never loaded; the others
still are, and the catalog says which file was skipped and why.

Which files are campaigns (`is_campaign_file`): a file directly inside a folder
named `campaigns` is a campaign and one directly inside a folder named `skills`
a skill, whatever they hold (as the assistant loads them); any other file is a
campaign when its top level has a `promotes:`, `flight:` or `creatives:` field
(every campaign has them, no skill does), else a skill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..project import Project
from ..skills.catalog import Catalog, skill_files
from ..skills.diagnostics import Diagnostic, Severity, did_you_mean, has_errors
from ..skills.model import Skill
from ..skills.shapes import snake_case
from ..skills.source import parse_file
from .loader import LoadedCampaign, load_campaign_file
from .model import Campaign

CAMPAIGNS_DIR = "campaigns"
CAMPAIGN_MARKERS = ("promotes", "flight", "creatives")


@dataclass
class CampaignCatalog:
    """The usable campaigns, every diagnostic, and the files that were skipped."""

    campaigns: list[Campaign]
    diagnostics: list[Diagnostic]
    skipped: dict[str, str] = field(default_factory=dict)

    def get(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)

    def for_brand(self, brand: str) -> list[Campaign]:
        return [c for c in self.campaigns if c.brand == brand]

    @property
    def has_errors(self) -> bool:
        return has_errors(self.diagnostics)


def campaigns_dir(project: Project) -> Path:
    """`campaigns/`, beside the project's `skills/`."""
    return project.root / CAMPAIGNS_DIR


def is_campaign_file(path: Path) -> bool:
    """Whether `path` is checked as a campaign (see the module's rule)."""
    if path.parent.name == CAMPAIGNS_DIR:
        return True
    if path.parent.name == "skills":
        return False
    root, _ = parse_file(path)
    return root is not None and root.is_mapping and any(m in root.keys for m in CAMPAIGN_MARKERS)


def load_project_campaigns(project: Project, skills: Catalog) -> CampaignCatalog:
    """The project's `campaigns/*.yaml` (none when the folder does not exist)."""
    folder = campaigns_dir(project)
    if not folder.is_dir():
        return CampaignCatalog([], [])
    return load_campaigns([folder], skills)


def load_campaigns(paths: list[Path], skills: Catalog) -> CampaignCatalog:
    """Load every campaign file under `paths` (YAML files named, or directly inside the
    directories named) and cross-check them against each other and `skills`."""
    loaded = [load_campaign_file(path) for path in skill_files(paths)]
    diagnostics = [d for item in loaded for d in item.diagnostics]
    diagnostics += cross_check(loaded, skills)
    bad_files = {d.file for d in diagnostics if d.severity == "error"}
    skipped: dict[str, str] = {}
    for item in loaded:
        if item.file in bad_files:
            errors = [d for d in diagnostics if d.file == item.file and d.severity == "error"]
            skipped[item.file] = f"{len(errors)} error(s), first: {errors[0]}"
    campaigns = [i.campaign for i in loaded if i.campaign is not None and i.file not in bad_files]
    return CampaignCatalog(campaigns, sorted(diagnostics), skipped)


def cross_check(loaded: list[LoadedCampaign], skills: Catalog) -> list[Diagnostic]:
    """Problems between files: duplicate campaign ids, and each campaign against the skill
    it promotes (intent, slots and their values, languages) and the skills `after:` names."""
    found: list[Diagnostic] = []
    owners: dict[str, str] = {}
    for item in loaded:
        campaign = item.campaign
        if campaign is None:
            continue
        check = _CrossCheck(item, skills, found)
        if campaign.id in owners:
            check.report(
                ("id",),
                f"campaign id '{campaign.id}' is also used by {owners[campaign.id]}; "
                "give each campaign its own id",
            )
        else:
            owners[campaign.id] = item.file
        check.campaign(campaign)
    return found


class _CrossCheck:
    def __init__(self, item: LoadedCampaign, skills: Catalog, found: list[Diagnostic]) -> None:
        self.item = item
        self.skills = skills
        self.found = found

    def report(self, mark: tuple[str, ...], message: str, severity: Severity = "error") -> None:
        line, column = self.item.marks.get(mark, (1, 1))
        self.found.append(Diagnostic(self.item.file, line, column, severity, message))

    def skill(self, skill_id: str) -> Skill | None:
        return self.skills.get(skill_id)

    def missing_skill(self, skill_id: str) -> str:
        ids = sorted(s.id for s in self.skills.skills)
        known = ", ".join(ids) or "none"
        skipped = (
            f"; skipped for their errors: {', '.join(sorted(self.skills.skipped))}"
            if self.skills.skipped
            else ""
        )
        return f"no skill '{skill_id}'{did_you_mean(skill_id, ids)}; skills: {known}{skipped}"

    def campaign(self, campaign: Campaign) -> None:
        skill = self.skill(campaign.skill)
        if skill is None:
            self.report(("skill",), f"promotes {self.missing_skill(campaign.skill)}")
        else:
            self.promoted(campaign, skill)
        for index, scene in enumerate(campaign.scenes):
            for entry in scene.after:
                self.after(campaign, str(index), scene.name, entry)

    def promoted(self, campaign: Campaign, skill: Skill) -> None:
        brand = snake_case(skill.brand, "brand")
        if brand != campaign.brand:
            self.report(
                ("brand",),
                f"brand '{campaign.brand}' is not the brand of skill '{skill.id}' "
                f"({skill.brand}, brand id '{brand}'); reports and opt-outs go by brand",
                "warning",
            )
        intent = skill.intents.get(campaign.intent) if campaign.intent else None
        if campaign.intent and intent is None:
            names = sorted(skill.intents)
            self.report(
                ("intent",),
                f"promotes intent '{campaign.intent}', but skill '{skill.id}' has no such "
                f"intent{did_you_mean(campaign.intent, names)}; intents: {', '.join(names)}",
            )
        for name, value in campaign.slots.items():
            self.slot(skill, name, value)
        speaks = set(skill.languages)
        for kind, by_language in campaign.creatives.items():
            for language in sorted(set(by_language) - speaks):
                self.report(
                    ("creative", kind, language),
                    f"creatives {kind} has a '{language}' line, but skill '{skill.id}' speaks "
                    f"only {', '.join(sorted(speaks))}; whoever says yes in {language} could "
                    "not use it: remove it",
                )
        for index, scene in enumerate(campaign.scenes):
            for language in sorted(set(scene.asked) - speaks):
                self.report(
                    ("asked", str(index), language),
                    f"scene '{scene.name}' asked has '{language}' phrases, but skill "
                    f"'{skill.id}' speaks only {', '.join(sorted(speaks))}",
                )
            for language in sorted(scene.languages - speaks):
                self.report(
                    ("scene_language", str(index), language),
                    f"scene '{scene.name}' languages names {language}, but skill "
                    f"'{skill.id}' speaks only {', '.join(sorted(speaks))}",
                )

    def slot(self, skill: Skill, name: str, value: str) -> None:
        slot = skill.slots.get(name)
        if slot is None:
            names = sorted(skill.slots)
            self.report(
                ("slot", name),
                f"promotes slot '{name}', but skill '{skill.id}' has no such slot"
                f"{did_you_mean(name, names)}; slots: {', '.join(names) or 'none'}",
            )
            return
        if slot.type == "list":
            ids = [v.id for v in slot.values]
            if value not in ids:
                self.report(
                    ("slot_value", name),
                    f"'{value}' is not a value of slot '{name}' of skill '{skill.id}'"
                    f"{did_you_mean(value, ids)}; values: {', '.join(ids)}",
                )
        elif slot.type == "number" and not _number_within(value, slot.minimum, slot.maximum):
            low = "" if slot.minimum is None else f" from {slot.minimum:g}"
            high = "" if slot.maximum is None else f" to {slot.maximum:g}"
            self.report(
                ("slot_value", name),
                f"slot '{name}' of skill '{skill.id}' takes a number{low}{high}, not '{value}'",
            )
        elif slot.type == "time" and not _is_time(value):
            self.report(
                ("slot_value", name),
                f"slot '{name}' of skill '{skill.id}' takes a time like \"10:30\", not '{value}'",
            )

    def after(self, campaign: Campaign, index: str, scene: str, entry: str) -> None:
        skill_id, _, intent = entry.partition(".")
        skill = self.skill(skill_id)
        where = ("after", index, entry)
        if skill is None:
            self.report(where, f"scene '{scene}' after names {self.missing_skill(skill_id)}")
            return
        if intent and intent not in skill.intents:
            names = sorted(skill.intents)
            self.report(
                where,
                f"scene '{scene}' after names '{entry}', but skill '{skill_id}' has no intent "
                f"'{intent}'{did_you_mean(intent, names)}; intents: {', '.join(names)}",
            )
        if skill_id == campaign.skill:
            self.report(
                where,
                f"scene '{scene}' is after '{entry}', the skill this campaign promotes: "
                "the person has just used it",
                "warning",
            )


def _number_within(value: str, low: float | None, high: float | None) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return (low is None or number >= low) and (high is None or number <= high)


def _is_time(value: str) -> bool:
    hours, _, minutes = value.partition(":")
    return (
        hours.isdigit()
        and minutes.isdigit()
        and len(minutes) == 2
        and int(hours) < 24
        and int(minutes) < 60
    )
