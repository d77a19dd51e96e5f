"""Compile skills + built-in data into Rasa NLU training data, one set per language.

Names in the model:
- `open_skill` opens a skill; the `skill` entity carries the skill id as its value.
- `<skill id>.<intent>` is a skill's intent; its slots are entities `<skill id>.<slot>`
  whose values are the slot value ids (Rasa's synonym annotation); a text slot's
  entity value is its words themselves (its samples, in templates).
- `help`, `stop`, `repeat`, `yes`, `no`, `out_of_scope` are built in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version

from ..skills.examples import Example, Span
from ..skills.model import Skill
from ..skills.normalize import normalize
from .builtin import BuiltinData
from .numbers import normalize_spoken

COMPILER_VERSION = 1
OPEN_SKILL = "open_skill"
SKILL_ENTITY = "skill"
ASK_EXAMPLES_PER_INTENT = 3
OPEN_EXAMPLES_PER_CARRIER = 2  # per skill: each carrier with two of its invocation names
EPOCHS = 60

_EN_PIPELINE = """\
  - name: WhitespaceTokenizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
"""
_ZH_PIPELINE = """\
  - name: JiebaTokenizer
    dictionary_path: {dictionary}
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char
    min_ngram: 1
    max_ngram: 3
"""
_CLASSIFIER = f"""\
  - name: DIETClassifier
    epochs: {EPOCHS}
    random_seed: 42
    constrain_similarities: true
    number_of_transformer_layers: 1
    transformer_size: 128
  - name: EntitySynonymMapper
"""


@dataclass(frozen=True)
class TrainingData:
    """Everything `rasa train nlu` needs for one language, and its fingerprint."""

    language: str
    config: str
    nlu: str
    dictionary: str
    examples: int

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for part in (
            str(COMPILER_VERSION),
            version("rasa"),
            self.config,
            self.nlu,
            self.dictionary,
        ):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()


def slot_entity(skill_id: str, slot: str) -> str:
    return f"{skill_id}.{slot}"


def compile_language(skills: list[Skill], builtin: BuiltinData) -> TrainingData:
    """Rasa NLU YAML, pipeline config and jieba dictionary for one language."""
    language = builtin.language
    skills = [s for s in skills if language in s.invocations]
    blocks: dict[str, list[str]] = {}

    def add(intent: str, line: str) -> None:
        lines = blocks.setdefault(intent, [])
        if line not in lines:
            lines.append(line)

    for name, sentences in builtin.intents.items():
        for sentence in sentences:
            add(name, _escape(sentence))
    for skill in skills:
        names = skill.invocations[language]
        for i, carrier in enumerate(builtin.open_skill * OPEN_EXAMPLES_PER_CARRIER):
            marked = _mark(names[i % len(names)], SKILL_ENTITY, skill.id)
            add(OPEN_SKILL, _escape(carrier).replace("{invocation}", marked))
        for intent in skill.intents.values():
            examples = _with_all_synonyms(skill, intent.examples.get(language, []), language)
            examples += _spoken_number_forms(examples, language)
            examples += _lowercase_forms(skill, examples)
            for example in examples:
                add(skill.qualified(intent.name), _annotate(skill, example, language))
            for i, example in enumerate(examples[:ASK_EXAMPLES_PER_INTENT]):
                carrier = builtin.ask_skill[i % len(builtin.ask_skill)]
                invocation = skill.invocations[language][i % len(skill.invocations[language])]
                line = (
                    _escape(carrier)
                    .replace("{invocation}", _mark(invocation, SKILL_ENTITY, skill.id))
                    .replace("{request}", _annotate(skill, example, language))
                )
                add(skill.qualified(intent.name), line)

    nlu_lines = ['version: "3.1"', "nlu:"]
    for name in sorted(blocks):
        nlu_lines.append(f"- intent: {json.dumps(name)}")
        nlu_lines.append("  examples: |")
        nlu_lines.extend(f"    - {line}" for line in blocks[name])
    pipeline = _ZH_PIPELINE.format(dictionary="jieba") if language == "zh" else _EN_PIPELINE
    config = (
        f"recipe: default.v1\nlanguage: {language}\nassistant_id: voice_runtime\n"
        f"pipeline:\n{pipeline}{_CLASSIFIER}policies: []\n"
    )
    return TrainingData(
        language,
        config,
        "\n".join(nlu_lines) + "\n",
        _jieba_dictionary(skills, language),
        sum(len(lines) for lines in blocks.values()),
    )


def _jieba_dictionary(skills: list[Skill], language: str) -> str:
    """Invocation names and slot words as jieba user words, so tokens match entities."""
    if language != "zh":
        return ""
    words = {name for s in skills for name in s.invocations.get("zh", [])}
    for skill in skills:
        for slot in skill.slots.values():
            for value in slot.values:
                words.update(value.synonyms.get("zh", []))
            words.update(slot.samples.get("zh", []))
    return "".join(f"{w.replace(' ', '')} 1000 n\n" for w in sorted(words))


def _escape(text: str) -> str:
    """Rasa reads [, ], (, ), {, } as markup; built-in sentences never need them."""
    return text.replace("[", " ").replace("]", " ")


def _mark(text: str, entity: str, value: str) -> str:
    annotation = json.dumps({"entity": entity, "value": value}, ensure_ascii=False)
    return f"[{text}]{annotation}"


def _value_of(skill: Skill, span: Span, language: str) -> str:
    slot = skill.slots.get(span.slot)
    if slot is not None and slot.type != "text":
        wanted = normalize(span.text)
        for value in slot.values:
            if wanted in slot_word_forms(value.synonyms.get(language, []), language):
                return value.id
    return span.text


def slot_word_forms(words: list[str], language: str) -> set[str]:
    """A slot value's words, normalised, also with number words as digits."""
    return {normalize(w) for w in words} | {normalize(normalize_spoken(w, language)) for w in words}


def _annotate(skill: Skill, example: Example, language: str) -> str:
    out: list[str] = []
    position = 0
    for span in example.spans:
        slot = skill.slots.get(span.slot)
        if slot is not None and slot.type == "text":
            span = _word_edges(span)  # "L.A." ends where the tokenizer's last word does
        out.append(example.text[position : span.start])
        entity = slot_entity(skill.id, span.slot)
        out.append(_mark(span.text, entity, _value_of(skill, span, language)))
        position = span.end
    out.append(example.text[position:])
    return "".join(out)


def _lowercase_forms(skill: Skill, examples: list[Example]) -> list[Example]:
    """Copies in lowercase of the sentences with free words ("play Kind of Blue"), the
    form speech transcripts arrive in; so the model learns names by place, not case."""
    free = {name for name, slot in skill.slots.items() if slot.type == "text"}
    result = []
    for example in examples:
        lowered = example.text.lower()
        if lowered == example.text or len(lowered) != len(example.text):
            continue
        if any(span.slot in free for span in example.spans):
            spans = tuple(Span(s.text.lower(), s.slot, s.start, s.end) for s in example.spans)
            result.append(Example(lowered, spans))
    return result


def _word_edges(span: Span) -> Span:
    """The span without punctuation at its edges (kept outside the entity)."""
    text = span.text.strip(_EDGE)
    if not text or text == span.text:
        return span
    start = len(span.text) - len(span.text.lstrip(_EDGE))
    return Span(text, span.slot, span.start + start, span.start + start + len(text))


_EDGE = " .,!?;:'\"-，。！？；：、"


def _spoken_number_forms(examples: list[Example], language: str) -> list[Example]:
    """Copies with number words as digits ("fifteen minutes" -> "15 minutes"), the form
    speech reaches the NLU in after `normalize_spoken`; annotated words keep their value."""
    result = []
    for example in examples:
        if normalize_spoken(example.text, language) == example.text:
            continue
        parts, spans, position, length = [], [], 0, 0
        for span in example.spans:
            before = normalize_spoken(example.text[position : span.start], language)
            word = normalize_spoken(span.text, language)
            parts += [before, word]
            start = length + len(before)
            spans.append(Span(word, span.slot, start, start + len(word)))
            length += len(before) + len(word)
            position = span.end
        parts.append(normalize_spoken(example.text[position:], language))
        result.append(Example("".join(parts), tuple(spans)))
    return result


def _with_all_synonyms(skill: Skill, examples: list[Example], language: str) -> list[Example]:
    """The examples, plus copies that put each unused slot word into a sentence."""
    result = list(examples)
    used = {(span.slot, normalize(span.text)) for ex in examples for span in ex.spans}
    carriers = [ex for ex in examples if len(ex.spans) == 1]
    if not carriers:
        return result
    index = 0
    for slot_name in sorted({span.slot for ex in carriers for span in ex.spans}):
        slot = skill.slots.get(slot_name)
        if slot is None:
            continue
        slot_carriers = [ex for ex in carriers if ex.spans[0].slot == slot_name]
        for value in slot.values:
            for word in value.synonyms.get(language, []):
                if (slot_name, normalize(word)) in used:
                    continue
                base = slot_carriers[index % len(slot_carriers)]
                index += 1
                span = base.spans[0]
                text = base.text[: span.start] + word + base.text[span.end :]
                new_span = Span(word, slot_name, span.start, span.start + len(word))
                result.append(Example(text, (new_span,)))
    return result
