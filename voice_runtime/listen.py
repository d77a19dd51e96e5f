"""The speaker loop: wake phrase -> listen -> understand -> skill -> speak -> wait again.

Audio comes from any `AudioSource` (the microphone, or WAV files through the
same sound-card callback path); answers go to any `output` callable (the
speaker, or a list in tests). When the open skill asks a question, the
microphone stays open for the answer without the wake phrase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from .audio.convert import RATE
from .audio.endpoint import EndpointConfig, Endpointer, NoSpeech
from .audio.microphone import AudioSource, iter_chunks
from .audio.utterance import stream_utterance
from .audio.wav import Audio
from .dialog.turn import Turn
from .errors import InputError
from .household.home import Household
from .people import Device
from .speech.calibrate import calibrate
from .speech.recognizer import Recognizer, Transcript
from .speech.wake import split_wake
from .spoken import expected_after, speech_audio, spoken_turn_sync
from .tts.speaker import Speaker

Output = Callable[[Audio], None]

EXTRA_PHRASES = {
    "en": {"not_heard": "Sorry, I didn't catch that.", "yes": "Yes?"},
    "zh": {"not_heard": "抱歉，我没听清。", "yes": "我在。"},
}


@dataclass(frozen=True)
class Heard:
    """One step of the loop, for logging: what was heard and what was answered."""

    transcript: Transcript
    woke: bool
    turn: Turn | None
    reply: str


class SpeakerLoop:
    """Runs conversations from an audio source until it ends."""

    def __init__(
        self,
        household: Household,
        device: Device,
        recognizer: Recognizer,
        speaker: Speaker,
        output: Output,
        language: str,
        wake_phrase: str | None,
        endpoint: EndpointConfig | None = None,
    ) -> None:
        self.household = household
        self.device = device
        self.recognizer = recognizer
        self.speaker = speaker
        self.output = output
        self.language = language
        self.wake_phrase = wake_phrase
        self.endpoint = endpoint or EndpointConfig()
        calibrate(recognizer, speaker)

    def run(self, source: AudioSource) -> Iterator[Heard]:
        """Listen until the source ends; yield every utterance heard."""
        chunks = iter_chunks(source)
        awake = self.wake_phrase is None
        while True:
            transcript = self._next_transcript(chunks)
            if transcript is None:
                return
            if transcript.audio_seconds == 0:  # nobody spoke: an open question times out
                awake = self.wake_phrase is None
                continue
            heard, awake = self.respond(transcript, awake)
            yield heard

    def handle(self, pcm: bytes, awake: bool) -> tuple[Heard, bool]:
        """A recorded utterance (push to talk): transcribe it, then `respond`."""
        return self.respond(self.recognizer.transcribe(Audio(pcm, RATE)), awake)

    def respond(self, transcript: Transcript, awake: bool) -> tuple[Heard, bool]:
        """(Wake,) understand, answer. Returns what happened and whether to stay awake."""
        text, woke = transcript.text, False
        if not awake and self.wake_phrase is not None:
            match = split_wake(text, self.wake_phrase)
            if not match.woke:
                return Heard(transcript, False, None, ""), False
            woke, text = True, match.request
            if not text:
                reply = EXTRA_PHRASES[self.language]["yes"]
                self.say(reply)
                return Heard(transcript, True, None, reply), True
        if not text.strip() or transcript.rejected:  # silence, or speech that is no command
            reply = EXTRA_PHRASES[self.language]["not_heard"]
            self.say(reply)
            return Heard(transcript, woke, None, reply), False
        try:
            turn = spoken_turn_sync(self.household, self.device, text, self.language)
        except InputError:
            reply = EXTRA_PHRASES[self.language]["not_heard"]
            self.say(reply)
            return Heard(transcript, woke, None, reply), False
        self.recognizer.expect(expected_after(turn, self.household.assistant.catalog))
        self.say(turn.response.speech)
        return Heard(transcript, woke, turn, turn.response.speech), expects_answer(turn)

    def say(self, text: str) -> None:
        """Speak sentence by sentence: the first plays before the rest is synthesized."""
        for audio in speech_audio(self.speaker, text, self.language):
            self.output(audio)

    def _next_transcript(self, chunks: Iterator[bytes]) -> Transcript | None:
        """Decode while listening, so the text is ready as soon as the utterance ends.

        An empty transcript of 0 s means nobody spoke; None, the end of the input.
        """
        heard = stream_utterance(self.recognizer, Endpointer(self.endpoint), chunks)
        if isinstance(heard.end, NoSpeech):
            return None if heard.input_ended else Transcript("", None, self.language, 0.0, 0.0)
        return heard.result


def expects_answer(turn: Turn) -> bool:
    """A skill waiting for an answer (a slot, a yes or no), or ending with a question,
    keeps the microphone open for the answer."""
    if turn.skill is not None and turn.state.get("waiting_for"):
        return True
    return turn.skill is not None and turn.response.speech.rstrip().endswith(("?", "？"))


def describe(heard: Heard, out: TextIO) -> None:
    """One line per utterance, for the console."""
    wake = " (wake)" if heard.woke else ""
    turn = heard.turn
    route = f" -> {turn.intent} [{turn.skill or '-'}]" if turn else ""
    out.write(f"heard{wake}: {heard.transcript.text!r}{route}\n")
    if heard.reply:
        out.write(f"  answer: {heard.reply}\n")
    out.flush()
