"""What several commands share: the project, its skills, and the assistant."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..audio.noise import REFERENCES
from ..dialog.router import Assistant, RouterSettings
from ..household.home import Household
from ..nlu.builtin import builtin_sentences
from ..nlu.engine import NluEngine
from ..people import Device
from ..project import Project
from ..skills.catalog import Catalog, Reserved, load_catalog


def project_of(args: argparse.Namespace) -> Project:
    return Project.locate(args.project)


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_skills(project: Project, paths: list[Path] | None = None) -> Catalog:
    """The usable skills; says on stderr which files were skipped and why."""
    catalog = load_catalog(paths or [project.skills_dir], reserved_sentences(project))
    for file, reason in catalog.skipped.items():
        err(f"skipped skill {file}: {reason}")
    if catalog.skipped:
        err("run 'voice validate' for every problem")
    return catalog


def reserved_sentences(project: Project) -> Reserved:
    """The built-in NLU sentences, which no skill example may repeat."""
    if not project.nlu_data_dir.is_dir():
        return {}
    return builtin_sentences(project.nlu_data_dir)


def build_assistant(
    args: argparse.Namespace, threshold: float | None = None, auto_train: bool = True
) -> Assistant:
    """The assistant over the project's skills; with --demo-services, the example brands'
    services run on a loopback port for the life of the process."""
    from ..services.caller import ServiceCaller, user_salt

    project = project_of(args)
    catalog = load_skills(project)
    engine = NluEngine(project, catalog, auto_train=auto_train, notify=err)
    settings = RouterSettings() if threshold is None else RouterSettings(threshold=threshold)
    rewrite = {}
    if getattr(args, "demo_services", False):
        from ..services.demo import DEMO_BASE, DemoServices, prepare_demo_environment

        prepare_demo_environment(catalog)
        rewrite[DEMO_BASE] = DemoServices(catalog).start().base
    services = ServiceCaller(user_salt(project.models_dir), rewrite=rewrite)
    return Assistant(catalog, engine, settings, services)


def nlu_engine(assistant: Assistant) -> NluEngine:
    """The NLU engine behind an assistant that `build_assistant` made."""
    assert isinstance(assistant.nlu, NluEngine)
    return assistant.nlu


def add_demo_services(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo-services",
        action="store_true",
        help="run the example brands' services on loopback for this run "
        "(allows loopback service URLs and sets demo secrets)",
    )


def add_language(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--lang",
        choices=["en", "zh"],
        default=None,
        required=required,
        help="language (default: detected from the text: Chinese characters "
        "mean zh, anything else en)",
    )


def build_household(
    args: argparse.Namespace,
    threshold: float | None = None,
    auto_train: bool = True,
    idle_timeout: float = 300.0,
) -> Household:
    """The assistant of `build_assistant` behind a household with sessions in this process."""
    from ..store.sessions import MemorySessionStore

    return Household(build_assistant(args, threshold, auto_train), MemorySessionStore(idle_timeout))


def local_device(
    user: str = "local-user",
    device_type: str = "speaker",
    language: str | None = None,
    room: str | None = None,
) -> Device:
    """The one device of a command that runs on this machine (shell, listen, ask)."""
    return Device.of_type(f"{user}-{device_type}", user, device_type, language=language, room=room)


def snr_value(text: str) -> float | None:
    """An ``--snr`` value: dB as a number, or ``clean`` (no noise) as None."""
    if text.strip().lower() == "clean":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an SNR in dB or 'clean': {text!r}") from None


def add_snr_arguments(parser: argparse.ArgumentParser, snr_help: str) -> None:
    """``--snr DB [DB ...]`` (numbers or ``clean``) and ``--snr-reference``, as the
    speech eval and ``voice adapt`` take them."""
    parser.add_argument(
        "--snr", type=snr_value, nargs="+", default=None, metavar="DB", help=snr_help
    )
    parser.add_argument(
        "--snr-reference",
        choices=REFERENCES,
        default="active",
        help="how the SNR is measured: 'active' speech RMS against noise RMS (default) or "
        "'peak' frame energies, as Picovoice's speech-to-intent benchmark mixes",
    )
