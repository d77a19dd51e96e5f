"""Compile the installed skills into what a skill-biased recogniser needs.

From the skills and the built-in NLU data of a language this module generates
every sentence a user is expected to say (open_skill carriers x invocation names,
ask_skill carriers x invocations x examples, examples with every slot synonym,
built-in intents), estimates a Witten-Bell trigram language model from them
(ARPA text) and writes a pronunciation dictionary restricted to their words.

Pronunciations come from the CMU dictionary inside the pocketsphinx wheel; a word
it lacks is split into known parts ("dreamwell" = dream + well) or spelt by
espeak-ng's IPA mapped to ARPAbet. Words no method can spell are reported and left
out. The result is cached under ``models/asr/<lang>/`` with a sha256 fingerprint of
its inputs, like the NLU models under ``models/nlu/<lang>/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from ..errors import ModelError
from ..nlu.builtin import BuiltinData
from ..skills.examples import Example
from ..skills.model import Skill
from .context import CONTEXT_WEIGHT, Expectation

BIAS_VERSION = 1
ORDER = 3
OPEN_WEIGHT = 3
"""Repeats of each "open <invocation>" sentence in the corpus."""
BUILTIN_WEIGHT = 2
"""Repeats of each built-in intent sentence (help, stop, yes, ...)."""
START, END = "<s>", "</s>"
_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")

# espeak-ng IPA (en-us voice) -> the bundled acoustic model's ARPAbet phones.
IPA_TO_ARPABET: dict[str, str] = {
    "ʌ": "AH", "ɐ": "AH", "ə": "AH", "ɑː": "AA", "ɑ": "AA", "ɒ": "AA", "a": "AA",
    "æ": "AE", "aɪ": "AY", "aʊ": "AW", "ɛ": "EH", "e": "EH", "eɪ": "EY", "ɪ": "IH",
    "ᵻ": "IH", "i": "IY", "iː": "IY", "ɔ": "AO", "ɔː": "AO", "oː": "AO", "oʊ": "OW",
    "əʊ": "OW", "o": "OW", "ɔɪ": "OY", "ʊ": "UH", "u": "UW", "uː": "UW", "ɜː": "ER",
    "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "iə": "IY AH", "eə": "EH R", "ʊə": "UH R",
    "aɪə": "AY ER", "aɪɚ": "AY ER", "ɪɹ": "IH R", "ɛɹ": "EH R", "ʊɹ": "UH R",
    "ɔːɹ": "AO R", "ɑːɹ": "AA R", "oːɹ": "AO R", "b": "B", "d": "D", "f": "F",
    "g": "G", "ɡ": "G", "h": "HH", "k": "K", "l": "L", "ɫ": "L", "m": "M", "n": "N",
    "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "s": "S", "ʃ": "SH", "t": "T", "ɾ": "T",
    "θ": "TH", "ð": "DH", "v": "V", "w": "W", "j": "Y", "z": "Z", "ʒ": "ZH",
    "tʃ": "CH", "dʒ": "JH", "x": "HH", "ç": "HH", "l̩": "AH L", "n̩": "AH N", "m̩": "AH M",
}  # fmt: skip


@dataclass(frozen=True)
class BiasModel:
    """The files of a compiled skill bias and what went into them."""

    language: str
    directory: Path
    fingerprint: str
    sentences: int
    words: int
    guessed: dict[str, str] = field(default_factory=dict)
    """Words missing from the CMU dictionary, and the phones guessed for them."""
    missing: tuple[str, ...] = ()
    """Words nothing could spell: sentences holding them are left out of the model."""

    @property
    def lm_path(self) -> Path:
        return self.directory / "skills.arpa"

    @property
    def dict_path(self) -> Path:
        return self.directory / "skills.dict"

    @property
    def sentences_path(self) -> Path:
        return self.directory / "sentences.txt"

    @property
    def manifest_path(self) -> Path:
        return self.directory / "manifest.json"


def tokenize(sentence: str) -> list[str]:
    """Lower-case words as the recogniser writes them ("what's", "warm-up", "15")."""
    return _TOKEN.findall(sentence.lower())


def skill_sentences(
    skills: list[Skill], builtin: BuiltinData, extra: Iterable[str] = ()
) -> list[str]:
    """Every sentence a user is expected to say in ``builtin.language``, tokenized.

    A sentence may appear more than once: repeats weight the groups, so the few
    "open <skill>" sentences are not drowned by the many requests.
    """
    language = builtin.language
    corpus: list[str] = []

    def add(texts: Iterable[str], weight: int = 1) -> None:
        unique = dict.fromkeys(" ".join(tokenize(text)) for text in texts)
        corpus.extend(text for text in unique if text for _ in range(weight))

    add((s for sentences in builtin.intents.values() for s in sentences), BUILTIN_WEIGHT)
    add(extra, OPEN_WEIGHT)
    for skill in skills:
        names = skill.invocations.get(language)
        if not names:
            continue
        add((c.replace("{invocation}", n) for n in names for c in builtin.open_skill), OPEN_WEIGHT)
        requests = list(
            dict.fromkeys(
                text
                for intent in skill.intents.values()
                for text in _requests(skill, intent.examples.get(language, []), language)
            )
        )
        add(requests)
        carriers = builtin.ask_skill
        add(  # each request once, the carriers and invocation names taking turns
            carriers[i % len(carriers)]
            .replace("{invocation}", names[(i // len(carriers)) % len(names)])
            .replace("{request}", request)
            for i, request in enumerate(requests)
        )
    return corpus


def _requests(skill: Skill, examples: list[Example], language: str) -> Iterator[str]:
    """Each example, and copies with each slot span replaced by every synonym of its slot."""
    for example in examples:
        yield example.text
        for span in example.spans:
            slot = skill.slots.get(span.slot)
            if slot is None:
                continue
            for value in slot.values:
                for word in value.synonyms.get(language, []):
                    yield example.text[: span.start] + word + example.text[span.end :]


def witten_bell_arpa(sentences: Iterable[str], order: int = ORDER) -> str:
    """An interpolated Witten-Bell N-gram model of tokenized sentences, as ARPA text."""
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    for sentence in sentences:
        words = [START, *sentence.split(), END]
        for n in range(1, order + 1):
            for i in range(len(words) - n + 1):
                gram = tuple(words[i : i + n])
                if gram != (START,):
                    counts[n - 1][gram] += 1
    followers: list[dict[tuple[str, ...], int]] = []
    totals: list[dict[tuple[str, ...], int]] = []
    for n in range(order):
        kinds_of: dict[tuple[str, ...], int] = defaultdict(int)
        total_of: dict[tuple[str, ...], int] = defaultdict(int)
        for gram, count in counts[n].items():
            kinds_of[gram[:-1]] += 1
            total_of[gram[:-1]] += count
        followers.append(kinds_of)
        totals.append(total_of)
    probs: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    unigram_total = totals[0][()]
    for (word,), count in counts[0].items():
        probs[0][(word,)] = count / unigram_total
    probs[0][(START,)] = 0.0

    def lower(gram: tuple[str, ...]) -> float:
        """Interpolated probability of the gram's last word after a shorter history."""
        if len(gram) == 1:
            return probs[0].get(gram, 0.0)
        known = probs[len(gram) - 1].get(gram)
        if known is not None:
            return known
        history = gram[:-1]
        total = totals[len(gram) - 1].get(history, 0)
        if not total:
            return lower(gram[1:])
        kinds = followers[len(gram) - 1][history]
        return kinds / (total + kinds) * lower(gram[1:])

    for n in range(2, order + 1):
        for gram, count in counts[n - 1].items():
            history = gram[:-1]
            total, kinds = totals[n - 1][history], followers[n - 1][history]
            probs[n - 1][gram] = (count + kinds * lower(gram[1:])) / (total + kinds)
    backoffs: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    for n in range(2, order + 1):
        seen_mass: dict[tuple[str, ...], float] = defaultdict(float)
        lower_mass: dict[tuple[str, ...], float] = defaultdict(float)
        for gram, p in probs[n - 1].items():
            seen_mass[gram[:-1]] += p
            lower_mass[gram[:-1]] += lower(gram[1:])
        for history in seen_mass:
            left, right = 1.0 - seen_mass[history], 1.0 - lower_mass[history]
            backoffs[n - 2][history] = left / right if left > 1e-9 and right > 1e-9 else 1e-9
    lines = ["\\data\\"]
    lines += [f"ngram {n + 1}={len(probs[n])}" for n in range(order)]
    for n in range(order):
        lines += ["", f"\\{n + 1}-grams:"]
        for gram in sorted(probs[n]):
            p = probs[n][gram]
            logp = -99.0 if p <= 0.0 else math.log10(p)
            entry = f"{logp:.6f}\t{' '.join(gram)}"
            if n < order - 1 and gram in backoffs[n]:
                entry += f"\t{math.log10(backoffs[n][gram]):.6f}"
            lines.append(entry)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def read_cmudict(path: Path) -> dict[str, list[str]]:
    """Every word of a CMU-format dictionary and its pronunciations (alternates too)."""
    found: dict[str, list[str]] = defaultdict(list)
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                head, _, phones = line.partition(" ")
                found[head.split("(", 1)[0]].append(phones.split("#", 1)[0].strip())
    except OSError as exc:
        raise ModelError(f"cannot read pronunciation dictionary {path}: {exc}") from None
    return dict(found)


def espeak_phones(word: str) -> str | None:
    """ARPAbet phones for ``word`` from espeak-ng's IPA, or None without espeak-ng."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None
    try:
        ipa = subprocess.run(
            [binary, "-q", "--ipa", "-v", "en-us", "--sep= ", word.replace("-", " ")],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    phones: list[str] = []
    for symbol in ipa.replace("ˈ", " ").replace("ˌ", " ").split():
        mapped = IPA_TO_ARPABET.get(symbol) or IPA_TO_ARPABET.get(symbol.replace("ː", ""))
        if mapped:
            phones.append(mapped)
    return " ".join(phones) or None


def guess_phones(word: str, lexicon: dict[str, list[str]]) -> str | None:
    """Phones for a word the dictionary lacks: its known parts, else espeak-ng."""
    parts = [p for p in re.split(r"[-']", word) if p]
    if len(parts) > 1 and all(p in lexicon for p in parts):
        return " ".join(lexicon[p][0] for p in parts)
    splits = [(word[:i], word[i:]) for i in range(3, len(word) - 2)]
    best = max(
        (pair for pair in splits if pair[0] in lexicon and pair[1] in lexicon),
        key=lambda pair: min(len(pair[0]), len(pair[1])),
        default=None,
    )
    if best is not None:
        return f"{lexicon[best[0]][0]} {lexicon[best[1]][0]}"
    return espeak_phones(word)


def cmudict_path() -> Path:
    """The CMU dictionary shipped inside the pocketsphinx wheel."""
    return Path(_model_path()) / "cmudict-en-us.dict"


def _model_path() -> str:
    try:
        import pocketsphinx
    except ImportError as exc:
        raise ModelError(
            f"pocketsphinx is not installed: pip install pocketsphinx ({exc})"
        ) from exc
    return os.path.join(pocketsphinx.get_model_path(), "en-us")


def fingerprint(sentences: list[str]) -> str:
    """sha256 of everything the compiled files depend on."""
    digest = hashlib.sha256()
    for part in (str(BIAS_VERSION), str(ORDER), version("pocketsphinx"), *sentences):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def compile_bias(
    skills: list[Skill],
    builtin: BuiltinData,
    directory: Path,
    force: bool = False,
    extra: Iterable[str] = (),
) -> BiasModel:
    """The language model and dictionary for ``builtin.language``, rebuilt only when stale.

    ``extra`` sentences (the wake phrase) are learnt with the weight of "open" sentences.
    """
    language = builtin.language
    sentences = skill_sentences(skills, builtin, extra)
    if not sentences:
        raise ModelError(f"no sentences to build a speech model from for '{language}'")
    print_ = fingerprint(sentences)
    manifest = directory / "manifest.json"
    if not force:
        cached = _load_manifest(manifest, directory, print_)
        if cached is not None:
            return cached
    vocabulary = {word for sentence in sentences for word in sentence.split()}
    lexicon = read_cmudict(cmudict_path())
    known = {word: lexicon[word] for word in vocabulary if word in lexicon}
    guessed: dict[str, str] = {}
    for word in sorted(vocabulary - set(known)):
        phones = guess_phones(word, lexicon)
        if phones:
            guessed[word] = phones
    missing = tuple(sorted(vocabulary - set(known) - set(guessed)))
    usable = [s for s in sentences if not set(s.split()) & set(missing)]
    dictionary = [f"{w} {p}" for w in sorted(known) for p in known[w]]
    dictionary += [f"{w} {p}" for w, p in sorted(guessed.items())]
    model = BiasModel(
        language, directory, print_, len(usable), len(known) + len(guessed), guessed, missing
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write(model.sentences_path, "\n".join(usable) + "\n")
        _write(model.lm_path, witten_bell_arpa(usable))
        _write(model.dict_path, _dedupe_dict(dictionary))
        _write(manifest, json.dumps(_manifest(model), indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ModelError(
            f"cannot write speech model to {directory}: {exc.strerror or exc}"
        ) from None
    return model


def context_lm(model: BiasModel, expectation: Expectation) -> Path | None:
    """The ARPA model of `model`'s sentences with the expected phrases weighted up
    (`speech/context.py`), cached by fingerprint; None when no phrase can be spelt
    with the bias's dictionary (a phrase outside it would be unknown to the decoder)."""
    words = {line.split(" ", 1)[0] for line in model.dict_path.read_text("utf-8").splitlines()}
    phrases = [" ".join(tokenize(p)) for p in expectation.phrases]
    usable = [p for p in dict.fromkeys(phrases) if p and set(p.split()) <= words]
    if not usable:
        return None
    name = f"{model.fingerprint[:12]}-{expectation.fingerprint}-w{CONTEXT_WEIGHT}.arpa"
    path = model.directory / "context" / name
    if not path.exists():
        sentences = model.sentences_path.read_text("utf-8").split("\n")
        corpus = [s for s in sentences if s] + usable * CONTEXT_WEIGHT
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write(path, witten_bell_arpa(corpus))
        except OSError as exc:
            raise ModelError(f"cannot write a context model to {path}: {exc}") from None
    return path


def _dedupe_dict(entries: list[str]) -> str:
    """CMU-format lines; a word's second and later pronunciations are named word(2), ..."""
    seen: Counter[str] = Counter()
    lines = []
    for entry in entries:
        word, phones = entry.split(" ", 1)
        seen[word] += 1
        head = word if seen[word] == 1 else f"{word}({seen[word]})"
        lines.append(f"{head} {phones}")
    return "\n".join(lines) + "\n"


def _manifest(model: BiasModel) -> dict[str, object]:
    return {
        "fingerprint": model.fingerprint,
        "language": model.language,
        "sentences": model.sentences,
        "words": model.words,
        "guessed": model.guessed,
        "missing": list(model.missing),
    }


def _load_manifest(path: Path, directory: Path, expected: str) -> BiasModel | None:
    """The cached model when its manifest matches ``expected`` and its files exist."""
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("fingerprint") != expected:
            return None
        model = BiasModel(
            str(data["language"]),
            directory,
            expected,
            int(data["sentences"]),
            int(data["words"]),
            {str(k): str(v) for k, v in dict(data["guessed"]).items()},
            tuple(str(w) for w in data["missing"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not (model.lm_path.exists() and model.dict_path.exists()):
        return None
    return model


def _write(path: Path, text: str) -> None:
    """Write atomically: a temporary file beside ``path``, then ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
