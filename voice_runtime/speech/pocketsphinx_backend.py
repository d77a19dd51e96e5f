"""PocketSphinx 5 with the English model inside its wheel: no downloads, ever.

Two modes:

- skill-biased (default): the trigram model and restricted dictionary that
  ``bias.compile_bias`` builds from the installed skills, so command phrases are
  recognised exactly and quickly;
- free dictation (``free=True``): the wheel's general English language model.

English only: for other languages a ``ModelError`` names the Vosk model to use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..audio.convert import to_recognizer_format
from ..audio.floor import FLOOR_RMS, NoiseFloor
from ..audio.wav import Audio
from ..errors import ModelError
from ..household import handoff
from ..languages import LANGUAGE_NAMES
from ..nlu.builtin import load_builtin
from ..project import Project
from ..skills.model import Skill
from ..skills.templates import count, expand
from .bias import BiasModel, compile_bias, context_lm, tokenize
from .context import Expectation, number_phrases, time_phrases
from .fit import NOT_A_COMMAND, SentenceFit
from .recognizer import Recognizer
from .wake import WAKE_PHRASES

MAX_FIT_SENTENCES = 20000
"""A template saying more sentences than this (slots as classes) is fitted by its sample."""
VOSK_MODELS = {"zh": "vosk-model-small-cn-0.22"}


def _pocketsphinx() -> Any:
    try:
        import pocketsphinx
    except ImportError as exc:
        raise ModelError(
            f"pocketsphinx is not installed: pip install pocketsphinx ({exc})"
        ) from exc
    return pocketsphinx


def check_language(language: str) -> None:
    """``ModelError`` unless this backend can decode ``language`` (English only)."""
    if language == "en":
        return
    name = LANGUAGE_NAMES.get(language, language)
    model = VOSK_MODELS.get(language)
    hint = (
        f"download the Vosk model {model} from https://alphacephei.com/vosk/models "
        "and use a Vosk recogniser"
        if model
        else "no offline model is known for it"
    )
    raise ModelError(f"PocketSphinx speaks English only, not {name} ({language}): {hint}")


def bias_for(
    project: Project, skills: list[Skill], language: str = "en", wake_phrase: str | None = None
) -> BiasModel:
    """The cached (or freshly compiled) skill bias under ``models/bias/<lang>/``.

    It also knows the wake phrase, alone and before each way of opening a skill.
    """
    check_language(language)
    builtin = load_builtin(project.nlu_data_dir, language)
    phrase = wake_phrase or WAKE_PHRASES[language]
    extra = [phrase] + [
        f"{phrase} {carrier.replace('{invocation}', skill.invocations[language][0])}"
        for skill in skills
        if language in skill.invocations
        for carrier in builtin.open_skill[:3]
    ]
    extra += answer_phrases(skills, language)
    extra += handoff.EXAMPLES.get(language, [])  # "continue on the TV"
    return compile_bias(skills, builtin, project.models_dir / "bias" / language, extra=extra)


_FITS: dict[tuple[str, str], SentenceFit] = {}


def fit_for(bias: BiasModel, skills: list[Skill], language: str = "en") -> SentenceFit:
    """How transcripts fit the bias's sentences, the skills' slot values read as slots
    (built once per process and bias: a second or two for thousands of sentences)."""
    key = (str(bias.directory), bias.fingerprint)
    if key not in _FITS:
        _FITS[key] = _build_fit(bias, skills, language)
    return _FITS[key]


def _build_fit(bias: BiasModel, skills: list[Skill], language: str) -> SentenceFit:
    sentences = bias.sentences_path.read_text("utf-8").splitlines()
    # the templates whole, slots as classes: the bias holds only a sample of them
    for skill in skills:
        for intent in skill.intents.values():
            for template in intent.templates.get(language, ()):

                def slot_class(slot: str, skill: Skill = skill) -> list[str]:
                    return [f"<{skill.id}.{slot}>"]

                every = count(template, slot_class)
                if every <= MAX_FIT_SENTENCES:
                    examples = expand(template, slot_class, every, "fit")
                    sentences += [_words(e.text) for e in examples]
    values = [
        (" ".join(tokenize(word)), f"{skill.id}.{name}")
        for skill in skills
        for name, slot in skill.slots.items()
        for value in slot.values
        for word in value.synonyms.get(language, [])
    ]
    return SentenceFit.build(sentences, values)


def _words(text: str) -> str:
    """The recogniser's words of a sentence, its <slot> classes kept whole."""
    return " ".join(w if w.startswith("<") else " ".join(tokenize(w)) for w in text.split())


def answer_phrases(skills: list[Skill], language: str) -> list[str]:
    """Short answers to a skill's questions: slot words alone, numbers and clock times."""
    phrases = [
        word
        for skill in skills
        for slot in skill.slots.values()
        for value in slot.values
        for word in value.synonyms.get(language, [])
    ]
    kinds = {slot.type for skill in skills for slot in skill.slots.values()}
    if "number" in kinds:
        phrases += number_phrases(language)
    if "time" in kinds:
        phrases += time_phrases(language)
    return phrases


class PocketSphinxRecognizer(Recognizer):
    """A PocketSphinx decoder, skill-biased when given a ``BiasModel``, else free dictation."""

    def __init__(
        self,
        bias: BiasModel | None = None,
        language: str = "en",
        settings: dict[str, Any] | None = None,
        noise_floor: float = FLOOR_RMS,
        fit: SentenceFit | None = None,
        acoustic: Path | None = None,
    ) -> None:
        """Load the decoder (about a second for free dictation, far less when biased).

        ``settings`` override decoder options (the model files, ``lw``, beams...);
        ``noise_floor`` is the RMS of the microphone floor added under all audio
        (``audio/floor.py``; 0 for none). With ``fit`` the confidence is how much the
        transcript looks like the skills' sentences (``speech/fit.py``), and below
        ``NOT_A_COMMAND`` the transcript is rejected as no command. ``acoustic`` is an
        adapted acoustic model (``speech/adapt.py``) in place of the wheel's.
        """
        check_language(language)
        super().__init__(language)
        self.bias = bias
        self.fit = fit
        self.acoustic = acoustic
        if fit is not None:
            self.reject_below = NOT_A_COMMAND
        ps = _pocketsphinx()
        model = ps.get_model_path()
        options: dict[str, Any] = {
            "hmm": str(acoustic or os.path.join(model, "en-us", "en-us")),
            "loglevel": "FATAL",
        }
        if bias is None:
            options["lm"] = os.path.join(model, "en-us", "en-us.lm.bin")
            options["dict"] = os.path.join(model, "en-us", "cmudict-en-us.dict")
        else:
            options["lm"] = str(bias.lm_path)
            options["dict"] = str(bias.dict_path)
        options.update(settings or {})
        try:
            self._decoder = ps.Decoder(**options)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"cannot load the PocketSphinx model: {exc}") from exc
        self._cmn: str = self._decoder.get_cmn()
        self._floor = NoiseFloor(noise_floor)
        self._default_search = str(self._decoder.current_search())
        self._searches: set[str] = set()
        self._search = self._default_search

    def _expect(self, expectation: Expectation | None) -> None:
        """Decode the next utterances with the expected phrases weighted up (a language
        model per context, compiled once under the bias directory and kept loaded)."""
        if self.bias is None:
            return  # free dictation has no skills' sentences to weigh
        if expectation is None:
            self._search = self._default_search
            return
        name = f"context-{expectation.fingerprint}"
        if name not in self._searches:
            path = context_lm(self.bias, expectation)
            if path is None:  # none of its phrases can be spelt: listen as usual
                self._search = self._default_search
                return
            self._decoder.add_lm_file(name, str(path))
            self._searches.add(name)
        self._search = name

    @property
    def free(self) -> bool:
        return self.bias is None

    def calibrate(self, audio: Audio) -> None:
        """Move the cepstral mean from the model's default to this kind of speech.

        Cold, the first utterances come out wrong ("hey assistant" -> "to the sea");
        three passes without search over a clip of speech settle it.
        """
        with self._lock:
            self._floor.restart()
            pcm = self._floor.add(to_recognizer_format(audio).samples)
            for _ in range(3):
                self._decoder.start_utt()
                self._decoder.process_raw(pcm, True, False)
                self._decoder.end_utt()
            self._cmn = self._decoder.get_cmn()

    def _start(self) -> None:
        # Every utterance starts from the calibrated cepstral mean: the live mean would
        # otherwise carry what the last utterance heard (silence, noise, another person
        # on another device of a shared server) and garble the next one.
        if self._active:  # an unfinished utterance is dropped (start_utt would refuse)
            self._decoder.end_utt()
        if self._decoder.current_search() != self._search:
            self._decoder.activate_search(self._search)
        self._decoder.set_cmn(self._cmn)
        self._decoder.start_utt()
        self._floor.restart()

    def _feed(self, pcm: bytes) -> str | None:
        self._decoder.process_raw(self._floor.add(pcm), False, False)
        hyp = self._decoder.hyp()
        return str(hyp.hypstr) if hyp is not None and hyp.hypstr else None

    def _whole(self, pcm: bytes) -> None:
        # Two passes: the first (no search) moves the live cepstral mean towards this
        # clip's, the second decodes. Measured on espeak-ng commands, this beats both
        # one live pass and batch normalisation (full_utt), which lost first words.
        self._decoder.end_utt()
        self._decoder.start_utt()
        self._decoder.process_raw(self._floor.add(pcm), True, False)
        self._decoder.end_utt()
        self._decoder.start_utt()
        self._floor.restart()  # the search pass hears the floor the first pass heard
        super()._whole(pcm)

    def _finish(self) -> tuple[str, float | None]:
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return "", None
        text = str(hyp.hypstr)
        if self.fit is not None:
            return text, self.fit.score(text)
        return text, min(max(float(hyp.prob), 0.0), 1.0)
