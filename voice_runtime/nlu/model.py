"""A trained Rasa NLU model, loaded once per process, parsing text into `NluResult`.

Rasa's `Agent.parse_message` is a coroutine that does blocking TensorFlow
work; `NluModel.parse` runs it on the model's own private event loop, so
callers on an asyncio loop use `await asyncio.to_thread(model.parse, text)`.

Start-up is what a user waits for, so loading does as little as it can:

- DIET's weights are restored straight into the layers a prediction builds,
  instead of first running one training step to create them (Rasa's way, most
  of its load time; see `_restoring_without_a_training_step`).
- The model answers eagerly at first (about 60 ms a parse), while a thread
  traces the prediction as a TensorFlow graph (a few seconds); parses switch to
  the graph (about 10 ms) once it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ModelError
from . import fast_export, rasa_env
from .result import NluResult

WARM_UP_TEXT = {"en": "hello", "zh": "你好"}
# seconds the tracer waits for a first parse to learn from before making one up
FIRST_PARSE_WAIT = 1.0


class NluModel:
    """One language's model. Thread-safe; parses are serialised."""

    def __init__(self, agent: Any, language: str, path: Path) -> None:
        self.agent = agent
        self.language = language
        self.path = path
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()
        self._traced = threading.Event()
        self._tracer: threading.Thread | None = None
        self.trace_error: BaseException | None = None

    @classmethod
    def load(cls, path: Path, language: str, trace: str = "background") -> NluModel:
        """Load a model file made by `voice train`.

        `trace`: "background" answers eagerly until the traced graph is ready,
        "now" returns only once it is (for benchmarks), "never" stays eager.
        """
        if not path.exists():
            raise ModelError(f"no NLU model at {path}; run 'voice train'")
        Agent = rasa_env.agent_class()

        try:
            with _restoring_without_a_training_step():
                agent = Agent.load(str(path))
        except Exception as exc:  # Rasa raises many types for a bad archive
            raise ModelError(
                f"cannot load NLU model {path}: {exc}; run 'voice train --force'"
            ) from exc
        model = cls(agent, language, path)
        fast_export.export_beside(agent, path, language)  # for FastNlu, if not there yet
        if trace == "never":
            model._traced.set()
        else:
            models = _diet_models(agent)
            batches: dict[int, Any] = {}
            recorded = threading.Event()
            _record_batches(models, batches, recorded)  # before any parse can start
            model._tracer = threading.Thread(
                target=model._trace,
                args=(models, batches, recorded, 0.0 if trace == "now" else FIRST_PARSE_WAIT),
                name=f"nlu-trace-{language}",
                daemon=False,  # interpreter shutdown must not cut a trace short (abort)
            )
            model._tracer.start()
            if trace == "now":
                model.wait_until_traced()
        return model

    @property
    def tracing(self) -> bool:
        """True while the traced graph is still being built (parses are eager meanwhile)."""
        return not self._traced.is_set()

    def wait_until_traced(self, timeout: float | None = None) -> bool:
        """Wait until parses run on the traced graph (before timing them, say)."""
        return self._traced.wait(timeout)

    def parse_raw(self, text: str) -> dict[str, Any]:
        """Rasa's own result dict (for benchmarks and debugging)."""
        with self._lock:
            return self._parse_locked(text)

    def parse(self, text: str) -> NluResult:
        return NluResult.from_rasa(self.parse_raw(text), self.language)

    def close(self) -> None:
        if self._tracer is not None:
            self._tracer.join()
        self._loop.close()

    def _parse_locked(self, text: str) -> dict[str, Any]:
        result: dict[str, Any] = self._loop.run_until_complete(self.agent.parse_message(text))
        return result

    def _trace(
        self,
        models: list[Any],
        batches: dict[int, Any],
        recorded: threading.Event,
        first_parse_wait: float,
    ) -> None:
        """Build the traced prediction graph while parses go on eagerly, then switch.

        The trace needs one input batch of DIET: it is recorded from the first parse,
        the user's own when one is waiting (so that answer is not delayed by a warm-up
        parse), else from a warm-up parse after a moment.
        """
        try:
            recorded.wait(first_parse_wait)
            with self._lock:
                if not recorded.is_set():
                    self._parse_locked(WARM_UP_TEXT.get(self.language, "hello"))
                for model in models:
                    del model._rasa_predict  # back to the class's method
            traced = {}
            for model in models:
                if id(model) in batches:  # trace outside the lock: parses go on meanwhile
                    traced[id(model)] = _traced_predict_step(model, batches[id(model)])
            with self._lock:
                for model in models:
                    if id(model) in traced:
                        model._tf_predict_step = traced[id(model)]
                        model.run_eagerly = False
        except Exception as exc:  # keep answering eagerly; say why on the model
            self.trace_error = exc
        finally:
            self._traced.set()


def _diet_models(agent: Any) -> list[Any]:
    """The TensorFlow models of the DIET classifiers in the agent's prediction graph."""
    DIETClassifier = rasa_env.diet_classifier_class()
    runner = agent.processor.graph_runner
    models = []
    for node in getattr(runner, "_instantiated_nodes", {}).values():
        component = getattr(node, "_component", None)
        if isinstance(component, DIETClassifier) and component.model is not None:
            models.append(component.model)
    return models


def _record_batches(models: list[Any], batches: dict[int, Any], recorded: threading.Event) -> None:
    """Record the first input batch each model predicts on; set `recorded` after a parse."""
    for model in models:
        predict: Callable[[Any], Any] = model._rasa_predict

        def recording(batch_in: Any, model: Any = model, predict: Any = predict) -> Any:
            batches.setdefault(id(model), batch_in)
            try:
                return predict(batch_in)
            finally:
                recorded.set()

        model._rasa_predict = recording


def _traced_predict_step(model: Any, batch_in: Any) -> Any:
    """What RasaModel._rasa_predict builds on its first graph-mode call, traced now."""
    tf = rasa_env.tensorflow_module()
    step = tf.function(
        model.predict_step, input_signature=model._dynamic_signature(batch_in), autograph=False
    )
    step(batch_in)  # the trace happens on the first call
    return step


@contextlib.contextmanager
def _restoring_without_a_training_step() -> Iterator[None]:
    """While loading, build DIET by predicting, not by training one step.

    Rasa's `RasaModel.load` creates the network's variables by fitting one
    example, then overwrites them with the saved weights. A TensorFlow-format
    checkpoint restores variables as they are created, so predicting on the
    example that Rasa passes anyway creates exactly the variables a prediction
    needs, restored, without the training step (and its loss and metric graphs).
    Fine-tuning (a training step is wanted there) keeps Rasa's way.
    """
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.models import RasaModel

    original = RasaModel.__dict__["load"]

    def load(
        cls: Any,
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if finetune_mode or predict_data_example is None:
            return original.__func__(
                cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                *args, **kwargs,
            )  # fmt: skip
        config = kwargs.get("config", {})
        model = cls(*args, **kwargs)
        model.compile(
            optimizer=rasa_env.tensorflow_module().keras.optimizers.Adam(
                config.get(LEARNING_RATE, 0.001)
            ),
            run_eagerly=config.get(RUN_EAGERLY),
        )
        status = model.load_weights(model_file_name)
        model.run_inference(predict_data_example)  # creates (and restores) the variables
        status.expect_partial()  # the optimizer's slots are not needed to predict
        status.assert_existing_objects_matched()
        return model

    RasaModel.load = classmethod(load)
    try:
        yield
    finally:
        RasaModel.load = original
