"""Shared fixtures: the real project, its real skills and its real trained models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from voice_runtime.dialog.router import Assistant
from voice_runtime.dialog.session import Session
from voice_runtime.dialog.turn import Turn
from voice_runtime.nlu.engine import NluEngine
from voice_runtime.nlu.result import NluResult
from voice_runtime.project import Project
from voice_runtime.services.caller import ServiceCaller
from voice_runtime.services.client import ServiceClient
from voice_runtime.services.demo import DEMO_BASE, DemoServices
from voice_runtime.services.policy import ServicePolicy
from voice_runtime.skills.catalog import Catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(ROOT)


@pytest.fixture(scope="session")
def catalog(project: Project) -> Catalog:
    catalog = load_catalog([project.skills_dir])
    assert not catalog.diagnostics, [str(d) for d in catalog.diagnostics]
    return catalog


DEMO_SECRETS = {
    "VOICE_SECRET_STAR_MOTORS_CARS": "test-secret-star-motors",
    "VOICE_SECRET_ANCHOR_BAKING": "test-secret-anchor",
}


@pytest.fixture(scope="session")
def demo_services(catalog: Catalog) -> Iterator[DemoServices]:
    """The example brands' real services, on a free loopback port."""
    with DemoServices(catalog, env=DEMO_SECRETS) as services:
        yield services


def service_caller(base: str) -> ServiceCaller:
    """Calls the example skills' services at `base` (loopback allowed, test secrets)."""
    client = ServiceClient(ServicePolicy(allow_private=True))
    return ServiceCaller(b"test-salt", client, rewrite={DEMO_BASE: base}, env=DEMO_SECRETS)


class GivenNlu:
    """An understander for routing tests, which give the router NluResults themselves."""

    async def understand(self, text: str, language: str) -> NluResult:
        raise AssertionError(f"routing tests give NLU results; nothing should parse {text!r}")

    def threshold(self, language: str) -> float | None:
        return None


def route(router: Assistant, nlu: NluResult, session: Session) -> Turn:
    """`Assistant.route` from a synchronous test."""
    return router.run(router.route(nlu, session))


@pytest.fixture(scope="session")
def assistant(
    project: Project, catalog: Catalog, demo_services: DemoServices
) -> Iterator[Assistant]:
    """The assistant over the trained models (`make test` trains them beforehand),
    calling the demo brand services on loopback."""
    caller = service_caller(demo_services.base)
    assistant = Assistant(catalog, NluEngine(project, catalog, auto_train=True), services=caller)
    yield assistant
    assistant.close()


@pytest.fixture()
def baking_yaml(project: Project) -> str:
    return (project.skills_dir / "anchor_baking.yaml").read_text("utf-8")
