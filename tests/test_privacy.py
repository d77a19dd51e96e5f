"""Privacy export and delete on SQLite and a real PostgreSQL: everything kept about a person
comes out; a delete removes events, sessions and the person row and keeps the opt-out
tombstone, which still holds afterwards."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from test_campaign_events import SALT, T0, EngineFactory, engine_kind, engines, event

from voice_runtime.campaigns.events import EventStore
from voice_runtime.campaigns.people import PeopleStore
from voice_runtime.campaigns.privacy import NO_AUDIO, Privacy
from voice_runtime.cli import main as cli_main
from voice_runtime.store.database import open_database
from voice_runtime.store.devices import DeviceRegistry

__all__ = ["engine_kind", "engines"]  # fixtures shared with the event tests


class FakeSessions:
    """A session store's per-person view, as the household server would pass it."""

    def __init__(self) -> None:
        self.by_user: dict[str, list[dict[str, Any]]] = {
            "alice": [{"device": "speaker-1", "skill": "anchor_baking", "turns": 3}],
            "bob": [{"device": "tv-1", "skill": None, "turns": 1}],
        }

    async def sessions_of(self, user: str) -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        return list(self.by_user.get(user, []))

    def forget(self, user: str) -> int:  # a plain function: run off the loop
        return len(self.by_user.pop(user, []))


def fill(people: PeopleStore, events: EventStore, devices: DeviceRegistry) -> None:
    for user in ("alice", "bob"):
        people.set_child(user, False, household="smiths")
        events.record_many(
            [
                event("exposure", user=user),
                event("accepted", user=user),
                event("exposure", user=user, brand="star_motors", campaign="car_viewing"),
            ]
        )
        devices.add(user, "speaker", name=f"{user}'s speaker", device_id=f"speaker-{user}")
    people.opt_out("alice", "star_motors")
    events.record(event("opted_out", user="alice", brand="star_motors", campaign="car_viewing"))


def test_export_then_delete_keeps_only_the_tombstone(engines: EngineFactory) -> None:
    engine = engines()
    people, events, devices = PeopleStore(engine), EventStore(engine, SALT), DeviceRegistry(engine)
    fill(people, events, devices)
    sessions = FakeSessions()
    privacy = Privacy(
        people, events, devices, sessions_of=sessions.sessions_of, forget_sessions=sessions.forget
    )

    data = asyncio.run(privacy.export("alice", now=T0))
    assert data["user"] == "alice" and data["format"] == 1 and data["audio"] == NO_AUDIO
    assert data["exported_at"] == T0.isoformat()
    assert data["person"]["household"] == "smiths" and data["person"]["child"] is False
    assert [o["brand"] for o in data["opt_outs"]] == ["star_motors"]
    exported = data["campaign_events"]
    assert sorted(exported) == ["anchor_dairy", "star_motors"]
    assert exported["anchor_dairy"]["pseudonym"] == events.pseudonym("alice", "anchor_dairy")
    assert exported["star_motors"]["pseudonym"] == events.pseudonym("alice", "star_motors")
    assert [e["kind"] for e in exported["anchor_dairy"]["events"]] == ["exposure", "accepted"]
    assert [e["kind"] for e in exported["star_motors"]["events"]] == ["exposure", "opted_out"]
    assert exported["anchor_dairy"]["events"][0] == {
        "kind": "exposure",
        "campaign": "baking_weekend",
        "device_type": "speaker",
        "scene": "weekend_kitchen",
        "placement": "after_goodbye",
        "at": T0.isoformat(),
        "detail": None,
    }
    assert [d["id"] for d in data["devices"]] == ["speaker-alice"]
    assert data["sessions"] == [{"device": "speaker-1", "skill": "anchor_baking", "turns": 3}]
    text = json.dumps(data)
    assert "bob" not in text and events.pseudonym("bob", "anchor_dairy") not in text

    deleted = asyncio.run(privacy.delete("alice"))
    assert (deleted.events, deleted.sessions, deleted.person) == (4, 1, True)
    assert deleted.events_by_brand == {"anchor_dairy": 2, "star_motors": 2}
    assert deleted.tombstone == ["star_motors"]
    assert deleted.summary() == (
        "deleted for alice: 4 event(s) of 2 brand(s), 1 session(s), the person row; "
        "kept opt-outs (tombstone): star_motors"
    )

    after = asyncio.run(Privacy(people, events, sessions_of=sessions.sessions_of).export("alice"))
    assert after["person"] is None
    assert after["campaign_events"] == {} and after["sessions"] == []
    assert [o["brand"] for o in after["opt_outs"]] == ["star_motors"]
    assert "devices" not in after  # no registry given this time

    # the tombstone holds on a fresh connection, and bob is untouched
    again = PeopleStore(engines())
    assert again.profile("alice").excluded("star_motors") == "opted out of star_motors"
    assert again.person("bob") is not None
    assert len(EventStore(engines(), SALT).events_of("bob")) == 2
    assert sessions.by_user.keys() == {"bob"}
    assert asyncio.run(privacy.delete("alice")).summary() == (
        "deleted for alice: 0 event(s) of 0 brand(s), 0 session(s), no person row; "
        "kept opt-outs (tombstone): star_motors"
    )


def test_voice_privacy_export_and_delete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        cli_main.COMMANDS, "privacy", ("export or delete a person's data", "privacy")
    )
    monkeypatch.setenv("VOICE_USER_SALT", SALT.decode())
    monkeypatch.delenv("VOICE_DATABASE_URL", raising=False)
    models = tmp_path / "models"
    models.mkdir()
    engine = open_database(f"sqlite:///{models / 'voice.db'}")
    fill(PeopleStore(engine), EventStore(engine, SALT), DeviceRegistry(engine))
    engine.dispose()
    voice = ["--project", str(tmp_path), "privacy"]

    assert cli_main.main([*voice, "export", "--user", "alice"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["person"]["user"] == "alice" and len(printed["campaign_events"]) == 2
    assert [d["id"] for d in printed["devices"]] == ["speaker-alice"]
    assert "sessions" not in printed  # the server's store is not reachable from here

    out = tmp_path / "alice.json"
    assert cli_main.main([*voice, "export", "--user", "alice", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote everything kept about alice to {out}\n"
    assert out.stat().st_mode & 0o777 == 0o600
    assert json.loads(out.read_text(encoding="utf-8"))["user"] == "alice"

    assert cli_main.main([*voice, "delete", "--user", "alice"]) == 0
    assert capsys.readouterr().out == (
        "deleted for alice: 4 event(s) of 2 brand(s), "
        "sessions not reachable here (no session store given), the person row; "
        "kept opt-outs (tombstone): star_motors\n"
    )
    assert cli_main.main([*voice, "export", "--user", "alice"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["person"] is None and after["campaign_events"] == {}
    assert [o["brand"] for o in after["opt_outs"]] == ["star_motors"]
    # devices are the household's registrations, not marketing data: revoke them with
    # `voice devices revoke`
    assert [d["id"] for d in after["devices"]] == ["speaker-alice"]

    for argv, message in (
        ([*voice, "export", "--user", "not valid"], "invalid user id"),
        (
            [*voice, "export", "--user", "alice", "--out", str(tmp_path / "no" / "x.json")],
            "cannot write",
        ),
        ([*voice, "delete", "--user", "al/ice"], "invalid user id"),
        (
            [*voice, "export", "--user", "alice", "--database", "mysql://x@y/z"],
            "unsupported database",
        ),
    ):
        assert cli_main.main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("voice privacy: error: ") and message in err, err
        assert err.count("\n") == 1
