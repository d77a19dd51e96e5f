"""Hostile utterances (issue 10, "keep them fixed"): any text through the real assistant is
a turn or a one-line InputError, in bounded time, and the conversation goes on afterwards."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_runtime.dialog.router import Assistant
from voice_runtime.errors import InputError
from voice_runtime.household.home import Household
from voice_runtime.people import Device
from voice_runtime.store.sessions import MemorySessionStore

SHIPPED = ["open baking class", "how do I bake bread", "打开烘焙课堂", "下一步", "yes", "stop"]
utterances = st.one_of(
    st.text(max_size=600),
    st.sampled_from(SHIPPED).flatmap(
        lambda base: st.builds(
            lambda prefix, suffix: prefix + base + suffix,
            st.text(max_size=20),
            st.text(max_size=20),
        )
    ),
    st.sampled_from(["\u202e", "\u200f", "\ufeff", "\x1b[2J"]).map(lambda b: b + "help"),
)


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(utterances)
def test_any_utterance_is_a_turn_or_one_line_refusal(assistant: Assistant, text: str) -> None:
    household = Household(assistant, MemorySessionStore())
    device = Device.of_type("fuzz-speaker", "fuzz", "speaker")
    began = time.process_time()
    try:
        turn = household.turn_sync(device, text)
    except InputError as refused:
        assert "\n" not in str(refused) and str(refused)
    else:
        assert turn.response.speech.strip()
    assert time.process_time() - began < 2.0
    after = household.turn_sync(device, "open baking class", "en")
    assert after.skill == "anchor_baking"
