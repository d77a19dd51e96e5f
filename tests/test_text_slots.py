"""Slots of `type: text`: free words in templates, from validation to the real model."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, route
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_runtime.dialog.router import Assistant, RouterSettings
from voice_runtime.dialog.session import Session
from voice_runtime.dialog.slots import extract_slots
from voice_runtime.errors import InputError
from voice_runtime.nlu.builtin import load_builtin
from voice_runtime.nlu.compile import compile_language, slot_entity
from voice_runtime.nlu.engine import NluEngine
from voice_runtime.nlu.result import EntityMatch, IntentScore, NluResult
from voice_runtime.project import Project
from voice_runtime.skills.catalog import Catalog, load_catalog
from voice_runtime.skills.free_text import MAX_FREE_TEXT, clean_free_text, free_words
from voice_runtime.skills.loader import load_skill_text
from voice_runtime.skills.model import Skill, Slot
from voice_runtime.skills.templates import INTENT_SAMPLES, parse_template

JAZZ = """\
version: 1
id: jazz_radio
brand: Blue Note Radio
name: {en: Jazz Radio}
invocations:
  en: [jazz radio]
slots:
  album:
    type: text
    samples:
      en: [Kind of Blue, Blue Train, Live In L.A., A Love Supreme, Moanin',
           Somethin' Else, Head Hunters, Time Out, Mingus Ah Um, Speak No Evil]
    prompt: {en: "Which album?"}
  artist:
    type: text
    samples:
      en: [Miles Davis, John Coltrane, Art Blakey and the Jazz Messengers, Herbie Hancock,
           Nina Simone, Dave Brubeck, Charles Mingus, Wayne Shorter]
  room:
    values:
      kitchen: {en: [kitchen]}
      lounge: {en: [lounge, living room]}
launch: {en: Welcome to Jazz Radio.}
help: {en: Say play an album.}
intents:
  play_album:
    templates:
      en:
        - "(play | put on) [the album] {album} by {artist}"
        - "(play | put on) [the album] {album} [in the {room}]"
        - "play"
    slots: [album]
    response: {en: "Playing {album}."}
"""
SAMPLES_LINE = 11  # the album's `en:` samples line
ALBUM_LINE = 9  # the album slot's fields


def load(yaml: str) -> tuple[Skill | None, list[str]]:
    loaded = load_skill_text(yaml, "jazz.yaml")
    return loaded.skill, [str(d) for d in loaded.diagnostics]


def changed(old: str, new: str) -> str:
    assert old in JAZZ, old
    return JAZZ.replace(old, new, 1)


def jazz() -> Skill:
    skill, messages = load(JAZZ)
    assert skill is not None and not messages, messages
    return skill


def nlu(text: str, intent: str, *entities: EntityMatch, confidence: float = 0.9) -> NluResult:
    score = IntentScore(intent, confidence)
    return NluResult(text, "en", score, (score,), entities)


def entity(text: str, words: str, slot: str = "album") -> EntityMatch:
    start = text.index(words)
    return EntityMatch(
        slot_entity("jazz_radio", slot), words, words, start, start + len(words), 0.9
    )


# -- validation ------------------------------------------------------------------------


def test_the_example_skill_is_valid() -> None:
    skill = jazz()
    assert skill.slots["album"].type == "text"
    assert skill.slots["album"].values == ()
    assert "Live In L.A." in skill.slots["album"].samples["en"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    samples:\n      en: [Kind of Blue,",
            "    x-samples:\n      en: [Kind of Blue,",
            f"jazz.yaml:{ALBUM_LINE}:5: error: slot 'album' is type text: it needs 'samples:', "
            "example fillers per language used only for training, for example  "
            "samples: {en: [Kind of Blue, Blue Train, Live in Paris]}",
        ),
        (
            "    samples:\n      en: [Kind of Blue,",
            "    samples: [Kind of Blue,",
            f"jazz.yaml:{SAMPLES_LINE - 1}:14: error: slot 'album' samples must be a mapping of "
            "languages to lists of example words, not a list; for example  "
            "samples: {en: [Kind of Blue, Blue Train]}",
        ),
        (
            "      en: [Kind of Blue, Blue Train, Live In L.A., A Love Supreme, Moanin',\n"
            "           Somethin' Else, Head Hunters, Time Out, Mingus Ah Um, Speak No Evil]",
            "      en: Kind of Blue",
            f"jazz.yaml:{SAMPLES_LINE}:11: error: slot 'album' samples (en) must be a list of "
            "example words, not text",
        ),
        (
            "en: [Kind of Blue, Blue Train,",
            "en: [1999, Blue Train,",
            f"jazz.yaml:{SAMPLES_LINE}:12: error: slot 'album' samples (en) must be text, not the "
            "number 1999 (put it in quotes if you mean it as text)",
        ),
        (
            "en: [Kind of Blue, Blue Train,",
            "en: [yes, Blue Train,",
            f"jazz.yaml:{SAMPLES_LINE}:12: error: slot 'album' samples (en): YAML read this "
            'sample as true/false; put it in quotes ("yes")',
        ),
        (
            "en: [Kind of Blue, Blue Train,",
            "en: [{Live: In L.A.}, Blue Train,",
            f"jazz.yaml:{SAMPLES_LINE}:12: error: slot 'album' samples (en): YAML read this "
            "sample as a mapping; put it in quotes",
        ),
        (
            "en: [Kind of Blue, Blue Train,",
            'en: ["Kind of Blue (Legacy)", Blue Train,',
            f"jazz.yaml:{SAMPLES_LINE}:12: error: slot 'album' samples (en): sample 'Kind of "
            "Blue (Legacy)' cannot hold brackets ( ) [ ] { }; leave them out or write them as "
            "words",
        ),
        (
            "en: [Kind of Blue, Blue Train,",
            f"en: [{'la ' * 40}, Blue Train,",
            f"jazz.yaml:{SAMPLES_LINE}:12: error: slot 'album' samples (en): sample is 119 "
            f"characters long; a text slot takes at most {MAX_FREE_TEXT}",
        ),
        (
            "    type: text\n    samples:\n      en: [Kind",
            "    type: text\n    values: {blue: {en: [Kind of Blue]}}\n    samples:\n"
            "      en: [Kind",
            f"jazz.yaml:{ALBUM_LINE + 1}:13: error: slot 'album' is type text: remove 'values' "
            "(it takes any words); give example fillers under 'samples:' instead",
        ),
        (
            "      lounge: {en: [lounge, living room]}",
            "      lounge: {en: [lounge, living room]}\n    samples: {en: [attic]}",
            "jazz.yaml:23:14: error: 'samples' only applies to 'type: text' slots; slot 'room' is "
            "type list: its words go under 'values'",
        ),
        (
            "    type: text\n    samples:\n      en: [Kind",
            "    type: txt\n    samples:\n      en: [Kind",
            f"jazz.yaml:{ALBUM_LINE}:11: error: slot 'album' type 'txt' is unknown (did you "
            "mean 'text'?); use one of list, number, time, text",
        ),
        (
            '        - "(play | put on) [the album] {album} by {artist}"',
            '        - "play {album} {artist}"',
            "jazz.yaml:29:25: error: template 'play {album} {artist}': text slots 'album' and "
            "'artist' can come one right after the other, so where one ends and the next "
            "starts cannot be told; put words between them, for example '{album} by {artist}'",
        ),
        (  # optional words are no separation: the sentence without them is still said
            '        - "(play | put on) [the album] {album} by {artist}"',
            '        - "play {artist}[, please] [(by | from)] {album}"',
            "jazz.yaml:29:50: error: template 'play {artist}[, please] [(by | from)] {album}': "
            "text slots 'artist' and 'album' can come one right after the other",
        ),
        (
            '        - "(play | put on) [the album] {album} by {artist}"',
            '        - "(play {album} | {artist}) [{album}]"',
            "jazz.yaml:29:39: error: template '(play {album} | {artist}) [{album}]': text slot "
            "'album' can come right after itself, so where one ends and the next starts cannot "
            "be told; put words between them, for example '{album} by {album}'",
        ),
    ],
)
def test_text_slot_mistakes_are_reported_with_line_column_and_fix(
    old: str, new: str, message: str
) -> None:
    skill, messages = load(changed(old, new))
    assert skill is None
    assert any(m.startswith(message) for m in messages), messages


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "en: [Miles Davis, John Coltrane, Art Blakey and the Jazz Messengers, Herbie Hancock,\n"
            "           Nina Simone, Dave Brubeck, Charles Mingus, Wayne Shorter]",
            "en: [Miles Davis, Nina Simone]",
            "jazz.yaml:17:11: warning: slot 'artist' samples (en) has 2 sample(s); give at "
            "least 3 of different lengths so the model learns where free words start and end",
        ),
        (
            '        - "play"',
            '        - "[please] {album}"',
            "jazz.yaml:31:21: warning: template '[please] {album}' can be just the text slot "
            "'album', which matches anything said; put words around it, for example "
            "'play {album}'",
        ),
    ],
)
def test_text_slot_doubts_are_warnings(old: str, new: str, message: str) -> None:
    skill, messages = load(changed(old, new))
    assert skill is not None
    assert messages == [message]


def test_words_between_text_slots_in_every_sentence_are_fine() -> None:
    yaml = changed(
        '        - "(play | put on) [the album] {album} by {artist}"',
        '        - "play {album} (by | from) {artist} [in the {room}]"\n'
        '        - "play {album} [in the] {room} {artist}"',  # a list slot's word separates
    )
    skill, messages = load(yaml)
    assert skill is not None and not messages, messages


# -- expansion and training data -------------------------------------------------------


def test_templates_expand_with_samples_and_mark_the_text_entity() -> None:
    skill = jazz()
    examples = skill.intents["play_album"].examples["en"]
    texts = {e.text for e in examples}
    assert 250 < len(texts) <= INTENT_SAMPLES  # 441 sentences said, sampled to the budget
    albums = skill.slots["album"].samples["en"]
    for example in examples:
        for span in example.spans:
            assert example.text[span.start : span.end] == span.text
            if span.slot == "album":
                assert span.text in albums
    assert {s.text for e in examples for s in e.spans if s.slot == "album"} == set(albums)
    data = compile_language([skill], load_builtin(ROOT / "nlu_data", "en"))
    marked = re.findall(
        r'\[([^\]]+)\]\{"entity": "jazz_radio\.album", "value": "([^"]+)"\}', data.nlu
    )
    assert len(marked) >= len(examples) - 1  # every sentence but "play" marks the album
    # the filler itself is the value (no synonym mapping) ...
    assert all(words == value for words, value in marked)
    # ... and the edge punctuation of "L.A." and "Moanin'" stays outside, as the tokenizer does
    assert {w for w, _ in marked} == {a.rstrip(".'") for a in albums} | {
        a.rstrip(".'").lower()
        for a in albums  # lowercase copies: speech is lowercase
    }
    assert '[Live In L.A]{"entity": "jazz_radio.album", "value": "Live In L.A"}. ' in data.nlu
    assert '{"entity": "jazz_radio.artist", "value": "Art Blakey and the Jazz Messengers"}' in (
        data.nlu
    )


def test_many_samples_keep_the_intent_within_its_sentence_budget() -> None:
    samples = ", ".join(f"Album number {i}" for i in range(400))
    yaml = changed(
        "en: [Kind of Blue, Blue Train, Live In L.A., A Love Supreme, Moanin',\n"
        "           Somethin' Else, Head Hunters, Time Out, Mingus Ah Um, Speak No Evil]",
        f"en: [{samples}]",
    )
    skill, messages = load(yaml)
    assert skill is not None and not messages, messages
    examples = skill.intents["play_album"].examples["en"]
    assert len(examples) <= INTENT_SAMPLES + 1  # + "play"
    assert len(examples) == len(set(examples))
    albums = {s.text for e in examples for s in e.spans if s.slot == "album"}
    assert len(albums) > 100  # sampled across the samples, not the first few


# -- runtime extraction ----------------------------------------------------------------


def test_a_text_slot_takes_the_entity_words_as_said() -> None:
    skill = jazz()
    text = "play Kind Of Blue by Miles Davis"
    found = extract_slots(
        skill,
        nlu(
            text,
            "jazz_radio.play_album",
            entity(text, "Kind Of Blue"),
            entity(text, "Miles Davis", "artist"),
        ),
    )
    assert found == {"album": "Kind Of Blue", "artist": "Miles Davis"}  # case kept
    # pieces of one name side by side are joined; the longest name wins
    text = "play sunrise over lagos"
    pieces = (entity(text, "sunrise"), entity(text, "over lagos"))
    assert extract_slots(skill, nlu(text, "jazz_radio.play_album", *pieces)) == {
        "album": "sunrise over lagos"
    }
    # the model tagged only some of the words the template places there: all of them
    heard = "play kind of blue by miles davis"
    found = extract_slots(skill, nlu(heard, "jazz_radio.play_album", entity(heard, "kind")))
    assert found == {"album": "kind of blue", "artist": "miles davis"}
    # names for the album only: no artist
    found = extract_slots(skill, nlu(text, "other.intent", *pieces), ("album",))
    assert found == {"album": "sunrise over lagos"}


def test_free_text_is_cleaned_and_refused_when_empty_or_too_long() -> None:
    assert clean_free_text("  Kind\tof\u200b  Blue\n") == "Kind of Blue"
    assert clean_free_text("Blue\x07 Train") == "Blue Train"
    assert clean_free_text(" \u200b\n ") is None
    assert clean_free_text("a" * MAX_FREE_TEXT) == "a" * MAX_FREE_TEXT
    assert clean_free_text("a" * (MAX_FREE_TEXT + 1)) is None
    skill = jazz()
    text = "play " + "la " * 50
    too_long = EntityMatch("jazz_radio.album", "", text[5:], 5, len(text), 0.9)
    found = extract_slots(skill, nlu(text, "jazz_radio.play_album", too_long))
    assert "album" not in found


def test_without_an_entity_the_template_gives_the_free_words() -> None:
    skill = jazz()
    text = "Play Live In L.A. by Joseph Meyer"
    assert extract_slots(skill, nlu(text, "jazz_radio.play_album")) == {
        "album": "Live In L.A",
        "artist": "Joseph Meyer",
    }
    found = extract_slots(skill, nlu("put on the album sunrise in the living room", "x"))
    assert found == {"room": "lounge"}  # not this skill's intent: no template is tried
    found = extract_slots(
        skill, nlu("put on the album sunrise in the living room", "jazz_radio.play_album")
    )
    assert found == {"album": "sunrise", "room": "lounge"}
    # the template's own words must all be there
    assert extract_slots(skill, nlu("could you play", "jazz_radio.play_album")) == {}
    assert extract_slots(skill, nlu("the album by me", "jazz_radio.play_album")) == {}


def test_the_template_placing_most_of_its_own_words_wins() -> None:
    slots = {
        name: Slot(name, (), type="text", samples={"zh": ["蓝色心情"]})
        for name in ("album", "artist")
    }
    templates = (parse_template("播放[专辑]{album}"), parse_template("播放{artist}的{album}"))
    assert free_words(templates, "播放迈尔斯的泛蓝调调", slots, {"album", "artist"}) == {
        "artist": "迈尔斯",
        "album": "泛蓝调调",
    }
    assert free_words(templates, "播放专辑泛蓝调调", slots, {"album"}) == {"album": "泛蓝调调"}
    assert free_words(templates, "放泛蓝调调", slots, {"album"}) == {}


def test_the_template_matcher_stays_fast_on_long_repetitive_text() -> None:
    skill = jazz()
    templates = skill.intents["play_album"].templates["en"]
    text = "play " + "by " * 70 + "in the"
    started = time.monotonic()
    found = free_words(templates, text, skill.slots, {"album", "artist"})
    assert time.monotonic() - started < 1.0
    assert found == {"album": "by"}  # the artist would be 200 characters: refused


# -- through the router ----------------------------------------------------------------


class OneIntent:
    """An understander that reads every text as one intent, with no entities."""

    def __init__(self, intent: str = "jazz_radio.play_album", confidence: float = 0.3) -> None:
        self.intent, self.confidence = intent, confidence

    async def understand(self, text: str, language: str) -> NluResult:
        return nlu(text, self.intent, confidence=self.confidence)

    def threshold(self, language: str) -> float | None:
        return None


@pytest.fixture()
def jazz_dir(tmp_path: Path) -> Path:
    (tmp_path / "skills").mkdir()
    (tmp_path / "skills" / "jazz_radio.yaml").write_text(JAZZ, "utf-8")
    return tmp_path


def jazz_catalog(root: Path) -> Catalog:
    catalog = load_catalog([root / "skills"])
    assert not catalog.diagnostics, [str(d) for d in catalog.diagnostics]
    return catalog


def test_the_answer_to_a_text_slot_prompt_is_the_whole_answer(jazz_dir: Path) -> None:
    router = Assistant(jazz_catalog(jazz_dir), OneIntent(), RouterSettings(threshold=0.5))
    session = Session()
    turn = route(router, nlu("play", "jazz_radio.play_album"), session)
    assert turn.response.speech == "Which album?"
    # the model tagged part of it, and read it as another intent: the answer is all of it
    answer = "Sunrise over Lagos in the kitchen"
    tagged = nlu(answer, "jazz_radio.play_album", entity(answer, "Sunrise"), confidence=0.4)
    turn = route(router, tagged, session)
    assert turn.slots == {"album": "Sunrise over Lagos in the kitchen"}
    assert turn.response.speech == "Playing Sunrise over Lagos in the kitchen."
    # an unusable answer (only a zero-width space left after cleaning) is asked again
    session = Session()
    route(router, nlu("play", "jazz_radio.play_album"), session)
    turn = route(router, nlu("\u200b", "out_of_scope", confidence=0.2), session)
    assert turn.intent == "reprompt" and session.state.slot == "album"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=st.text(max_size=150))
def test_any_answer_to_a_text_slot_is_a_value_or_a_clear_refusal(answer: str) -> None:
    router = Assistant(Catalog([JAZZ_SKILL], []), OneIntent("out_of_scope"), RouterSettings(0.5))
    session = Session()
    try:
        route(router, nlu("play", "jazz_radio.play_album"), session)
        try:
            turn = router.handle_sync(answer, session)
        except InputError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
    finally:
        router.close()
    value = clean_free_text(answer.strip())
    if value is None:
        assert turn.intent == "reprompt" and "album" not in turn.slots
    else:
        assert turn.slots["album"] == value
        assert turn.response.speech == f"Playing {value}."
        assert value.isprintable() and len(value) <= MAX_FREE_TEXT


JAZZ_SKILL = jazz()


# -- on a real model -------------------------------------------------------------------


@pytest.fixture(scope="module")
def jazz_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """The jazz skill alone, with a real Rasa model trained for it (English only)."""
    root = tmp_path_factory.mktemp("jazz-project")
    (root / "skills").mkdir()
    (root / "skills" / "jazz_radio.yaml").write_text(JAZZ, "utf-8")
    (root / "nlu_data").mkdir()
    shutil.copy(ROOT / "nlu_data" / "en.yaml", root / "nlu_data" / "en.yaml")
    project = Project(root)
    catalog = jazz_catalog(root)
    engine = NluEngine(project, catalog, auto_train=True, exact=False)
    engine.preload(["en"])
    assistant = Assistant(catalog, engine, RouterSettings(threshold=0.5))
    yield assistant
    assistant.close()


def test_the_real_model_tags_unseen_names(jazz_assistant: Assistant) -> None:
    turn = jazz_assistant.handle_sync("play kind of blue by miles davis", Session(language="en"))
    assert turn.intent == "jazz_radio.play_album"
    assert turn.slots.get("album") == "kind of blue"
    turn = jazz_assistant.handle_sync(
        "play the album sunrise over lagos by joseph meyer", Session(language="en")
    )
    assert turn.intent == "jazz_radio.play_album"
    assert turn.slots == {"album": "sunrise over lagos"}  # the intent needs no artist
    assert turn.response.speech == "Playing sunrise over lagos."
    assert turn.nlu is not None and turn.nlu.source == "model"
    assert extract_slots(JAZZ_SKILL, turn.nlu) == {
        "album": "sunrise over lagos",
        "artist": "joseph meyer",
    }


def test_the_real_model_takes_a_prompted_answer_whole(jazz_assistant: Assistant) -> None:
    session = Session(language="en")
    turn = jazz_assistant.handle_sync("play", session)
    assert turn.response.speech == "Which album?"
    turn = jazz_assistant.handle_sync("the very best of ella fitzgerald", session)
    assert turn.slots == {"album": "the very best of ella fitzgerald"}
    assert turn.response.speech == "Playing the very best of ella fitzgerald."


def test_a_service_may_fill_a_text_slot_with_clean_words() -> None:
    from voice_runtime.services.caller import slot_value
    from voice_runtime.skills.model import Slot

    album = Slot("album", (), type="text")
    assert slot_value(album, "  Blue\u200b  Train ") == "Blue Train"
    assert slot_value(album, "\x00\u202e") is None
    assert slot_value(album, "x" * 500) is None
