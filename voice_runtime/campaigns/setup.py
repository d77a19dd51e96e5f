"""Scene marketing for a household: the project's campaigns, their engine and stores,
attached to the household's turns (one place builds it for the server, shell and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from ..household.home import Household
from ..project import Project
from ..services.caller import user_salt
from ..store.database import open_database
from .catalog import CampaignCatalog, load_project_campaigns
from .engine import CampaignEngine, _now
from .events import EventStore
from .ledger import Ledger, open_ledger
from .model import Campaign
from .people import PeopleStore
from .placement import Placements


@dataclass
class Marketing:
    """The campaign engine, its stores and the household hooks, built together."""

    catalog: CampaignCatalog
    engine: CampaignEngine
    people: PeopleStore
    events: EventStore
    placements: Placements
    database: Engine

    @classmethod
    def attach(
        cls,
        household: Household,
        project: Project,
        database_url: str,
        redis_url: str | None = None,
        campaigns: Sequence[Campaign] | None = None,
        ledger: Ledger | None = None,
        seed: int = 0,
        clock: Callable[[], datetime] = _now,
        cap_scope: str = "person",
    ) -> Marketing:
        """Load the campaigns (unless given), open the stores and hook into `household`:
        answers to offers before the router, placements after each turn."""
        catalog = load_project_campaigns(project, household.assistant.catalog)
        chosen = list(catalog.campaigns if campaigns is None else campaigns)
        database = open_database(database_url)
        engine = CampaignEngine(
            chosen, ledger or open_ledger(redis_url, database_url), seed=seed, clock=clock
        )
        people = PeopleStore(database)
        events = EventStore(database, user_salt(project.models_dir))
        placements = Placements(
            household.assistant, engine, people, events, household.sessions, cap_scope
        )
        household.interceptors.append(placements.intercept)
        household.observers.append(placements.observe)
        return cls(catalog, engine, people, events, placements, database)

    async def aclose(self) -> None:
        await self.engine.ledger.close()
        await asyncio.to_thread(self.database.dispose)
