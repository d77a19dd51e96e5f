"""Export what a prediction needs from a loaded Rasa NLU model, for `fast.FastNlu`.

Runs where Rasa and TensorFlow are already imported (after training, or after a
model has been loaded): it reads the live pipeline components, not Rasa's files,
so the numbers are exactly the ones Rasa predicts with. The result sits next to
the model archive, `model.fast.json` (settings, vocabularies, labels, synonyms)
and `model.fast.npz` (DIET's weights and label embeddings), tied to the archive
by its SHA-256.

Only the pipeline `voice train` builds is exported (WhitespaceTokenizer or
JiebaTokenizer, LexicalSyntacticFeaturizer, CountVectorsFeaturizers, DIET,
EntitySynonymMapper, RegexMessageHandler); anything else raises
`UnsupportedModel` and the fast path is simply not available for that model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]
FORMAT = 1
JSON_SUFFIX = ".fast.json"
NPZ_SUFFIX = ".fast.npz"


class UnsupportedModel(Exception):
    """The model uses something the numpy predictor does not implement."""


def cache_paths(model_path: Path) -> tuple[Path, Path]:
    """`models/nlu/en/model.tar.gz` -> (`model.fast.json`, `model.fast.npz`) beside it."""
    stem = model_path.name.split(".")[0]
    return (
        model_path.with_name(stem + JSON_SUFFIX),
        model_path.with_name(stem + NPZ_SUFFIX),
    )


def archive_digest(model_path: Path) -> str:
    digest = hashlib.sha256()
    with open(model_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_current(model_path: Path) -> bool:
    """True if the exported files beside `model_path` belong to this very archive."""
    json_path, npz_path = cache_paths(model_path)
    if not json_path.exists() or not npz_path.exists():
        return False
    try:
        meta = json.loads(json_path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        meta.get("format") == FORMAT and meta.get("model_sha256") == archive_digest(model_path)
    )


def export_beside(agent: Any, model_path: Path, language: str) -> bool:
    """Write the export for `agent` (loaded from `model_path`) unless it is current.

    Returns True if the files beside the model are current afterwards. Never
    raises for a model it cannot export (the fast path is an optimisation).
    """
    try:
        if is_current(model_path):
            return True
        meta, arrays = export(agent, model_path, language)
    except Exception:  # UnsupportedModel, or Rasa's internals not as expected: no fast path
        return False
    meta["model_sha256"] = archive_digest(model_path)
    json_path, npz_path = cache_paths(model_path)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        _write_atomically(npz_path, buffer.getvalue())
        # the JSON names the archive: written last, so it never vouches for a partial npz
        _write_atomically(json_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    except OSError:
        return False
    return True


def export_archive(model_path: Path, language: str) -> bool:
    """Load `model_path` with Rasa and export it (for `voice train`)."""
    from .model import NluModel

    try:
        model = NluModel.load(model_path, language, trace="never")
    except Exception:  # the model itself is checked where it is used
        return False
    try:
        return export_beside(model.agent, model_path, language)
    finally:
        model.close()


def export(agent: Any, model_path: Path, language: str) -> tuple[dict[str, Any], dict[str, Array]]:
    """(settings as JSON-able dict, weights) of a loaded agent's NLU pipeline."""
    runner = agent.processor.graph_runner
    components = []
    for name, node in runner._instantiated_nodes.items():
        component = getattr(node, "_component", None)
        if component is not None:
            components.append((name, component))
    meta: dict[str, Any] = {"format": FORMAT, "language": language}
    arrays: dict[str, Array] = {}
    sequence_parts: list[dict[str, Any]] = []
    count_vectors: list[dict[str, Any]] = []
    seen_diet = False
    for _name, component in components:
        kind = type(component).__name__
        if kind == "NLUMessageConverter" or kind == "RegexMessageHandler":
            continue
        if seen_diet and kind not in ("EntitySynonymMapper",):
            raise UnsupportedModel(f"{kind} after DIETClassifier")
        if kind in ("WhitespaceTokenizer", "JiebaTokenizer"):
            meta["tokenizer"] = _tokenizer(component, kind, model_path)
        elif kind == "LexicalSyntacticFeaturizer":
            part = {
                "kind": "lexical",
                "features": [list(names) for names in component._feature_config],
                "feature_to_idx": {
                    f"{position}###{name}": dict(values)
                    for (position, name), values in component._feature_to_idx_dict.items()
                },
                "size": int(component._number_of_features),
            }
            sequence_parts.append(part)
        elif kind == "CountVectorsFeaturizer":
            part = _count_vectors(component)
            sequence_parts.append(part)
            count_vectors.append(part)
        elif kind == "DIETClassifier":
            meta["diet"] = _diet(component, arrays)
            seen_diet = True
        elif kind == "EntitySynonymMapper":
            meta["synonyms"] = dict(component.synonyms or {})
        else:
            raise UnsupportedModel(f"component {kind}")
    if "tokenizer" not in meta or not seen_diet:
        raise UnsupportedModel("no tokenizer or no DIETClassifier")
    meta["sequence_features"] = sequence_parts
    meta.setdefault("synonyms", None)
    sizes = meta["diet"]["sparse_feature_sizes"]
    expected_sequence = [p["size"] for p in sequence_parts if p["size"] is not None]
    expected_sentence = [p["size"] for p in count_vectors if p["size"] is not None]
    if sizes.get("sequence") != expected_sequence or sizes.get("sentence") != expected_sentence:
        raise UnsupportedModel(f"feature sizes {sizes} != {expected_sequence}/{expected_sentence}")
    return meta, arrays


def _tokenizer(component: Any, kind: str, model_path: Path) -> dict[str, Any]:
    config = component._config
    if config.get("token_pattern") or config.get("intent_tokenization_flag"):
        raise UnsupportedModel("tokenizer with a token pattern")
    result: dict[str, Any] = {"kind": "whitespace" if kind == "WhitespaceTokenizer" else "jieba"}
    if kind == "JiebaTokenizer":
        dictionary = ""
        if config.get("dictionary_path") is not None:
            # the model storage Rasa loaded from is gone by now: read the archive
            prefix = f"components/{component._resource.name}/"
            with tarfile.open(model_path, "r:gz") as archive:
                members = [
                    m for m in archive.getmembers() if m.isfile() and m.name.startswith(prefix)
                ]
                if len(members) > 1:
                    raise UnsupportedModel("more than one jieba user dictionary")
                for member in members:
                    handle = archive.extractfile(member)
                    assert handle is not None
                    dictionary = handle.read().decode("utf-8")
        result["dictionary"] = dictionary
    return result


def _count_vectors(component: Any) -> dict[str, Any]:
    if component.use_shared_vocab or component.OOV_token or component.stop_words:
        raise UnsupportedModel("CountVectorsFeaturizer with shared vocab, OOV token or stops")
    if component.strip_accents:
        raise UnsupportedModel("CountVectorsFeaturizer with strip_accents")
    vectorizer = component.vectorizers.get("text")
    vocabulary = getattr(vectorizer, "vocabulary_", None) if vectorizer is not None else None
    if vectorizer is not None and (
        vectorizer.binary or vectorizer.analyzer != component.analyzer or vectorizer.preprocessor
    ):
        raise UnsupportedModel("unexpected CountVectorizer settings")
    return {
        "kind": "count_vectors",
        "analyzer": component.analyzer,
        "min_ngram": int(component.min_ngram),
        "max_ngram": int(component.max_ngram),
        "lowercase": bool(component.lowercase),
        "use_lemma": bool(component.use_lemma),
        "vocabulary": {str(k): int(v) for k, v in vocabulary.items()} if vocabulary else None,
        "size": len(vocabulary) if vocabulary else None,
    }


def _dense(layer: Any, masked: bool) -> tuple[Array, Array | None]:
    kernel = layer.kernel.numpy()
    mask = getattr(layer, "kernel_mask", None)
    if masked and mask is not None:
        kernel = kernel * mask.numpy()
    bias = layer.bias.numpy() if layer.use_bias else None
    return kernel.astype(np.float32), None if bias is None else bias.astype(np.float32)


def _put(arrays: dict[str, Array], name: str, dense: tuple[Array, Any]) -> None:
    arrays[name + ".kernel"] = dense[0]
    if dense[1] is not None:
        arrays[name + ".bias"] = dense[1]


def _layer_norm(arrays: dict[str, Array], name: str, layer: Any) -> float:
    arrays[name + ".gamma"] = layer.gamma.numpy().astype(np.float32)
    arrays[name + ".beta"] = layer.beta.numpy().astype(np.float32)
    return float(layer.epsilon)


def _diet(component: Any, arrays: dict[str, Array]) -> dict[str, Any]:
    config = dict(component.component_config)
    model = component.model
    if model is None:
        raise UnsupportedModel("DIET has no trained model")
    checks = {
        "intent_classification": True,
        "entity_recognition": True,
        "use_masked_language_model": False,
        "share_hidden_layers": False,
        "use_key_relative_attention": False,
        "use_value_relative_attention": False,
        "unidirectional_encoder": False,
        "model_confidence": "softmax",
        "BILOU_flag": True,
    }
    for key, wanted in checks.items():
        if config.get(key) != wanted:
            raise UnsupportedModel(f"DIET {key}={config.get(key)!r}")
    if config.get("similarity_type") not in ("inner", "cosine"):
        raise UnsupportedModel(f"similarity {config.get('similarity_type')}")
    layers = model._tf_layers
    sequence = layers["sequence_layer.text"]._tf_layers
    combining = sequence["feature_combining"]._tf_layers
    if set(combining) != {"sparse_dense.sequence", "sparse_dense.sentence"}:
        raise UnsupportedModel(f"feature combining layers {sorted(combining)}")
    for feature_type in ("sequence", "sentence"):
        concat = combining[f"sparse_dense.{feature_type}"]
        signature = model.data_signature["text"][feature_type]
        if not all(s.is_sparse for s in signature):
            raise UnsupportedModel("dense text features")
        _put(
            arrays,
            f"sparse_to_dense.{feature_type}",
            _dense(concat._tf_layers["sparse_to_dense"], False),
        )
    hidden = [layer for layer in sequence["ffnn"]._ffn_layers if hasattr(layer, "kernel")]
    for i, layer in enumerate(hidden):
        _put(arrays, f"ffnn.{i}", _dense(layer, True))
    encoder = sequence["transformer"]
    if not hasattr(encoder, "_enc_layers"):
        raise UnsupportedModel("DIET without a transformer")
    _put(arrays, "encoder.embedding", _dense(encoder._embedding, True))
    epsilons = []
    for i, layer in enumerate(encoder._enc_layers):
        prefix = f"encoder.{i}"
        mha = layer._mha
        if mha.use_key_relative_position or mha.use_value_relative_position or mha.unidirectional:
            raise UnsupportedModel("relative or unidirectional attention")
        epsilons.append(_layer_norm(arrays, f"{prefix}.norm_attention", layer._layer_norm))
        _put(arrays, f"{prefix}.query", _dense(mha._query_dense_layer, True))
        _put(arrays, f"{prefix}.key", _dense(mha._key_dense_layer, True))
        _put(arrays, f"{prefix}.value", _dense(mha._value_dense_layer, True))
        _put(arrays, f"{prefix}.output", _dense(mha._output_dense_layer, True))
        norm, first, _, second, _ = layer._ffn_layers
        epsilons.append(_layer_norm(arrays, f"{prefix}.norm_ffn", norm))
        _put(arrays, f"{prefix}.ffn_1", _dense(first, True))
        _put(arrays, f"{prefix}.ffn_2", _dense(second, True))
    epsilons.append(_layer_norm(arrays, "encoder.norm", encoder._layer_norm))
    _put(arrays, "embed.text", _dense(layers["embed.text"]._dense, False))
    labels_embed = model.all_labels_embed
    if labels_embed is None:
        model.prepare_for_predict()
        labels_embed = model.all_labels_embed
    arrays["labels_embed"] = np.asarray(labels_embed, dtype=np.float32)
    specs = [spec for spec in component._entity_tag_specs if spec.num_tags > 0]
    if [spec.tag_name for spec in specs] not in ([], ["entity"]):
        raise UnsupportedModel("entity roles or groups")
    entity_tags: dict[str, str] = {}
    if specs:
        spec = specs[0]
        entity_tags = {str(k): v for k, v in spec.ids_to_tags.items()}
        _put(arrays, "entity.logits", _dense(layers["embed.entity.logits"]._dense, False))
        arrays["entity.transitions"] = layers["crf.entity"].transition_params.numpy()
    split = component.split_entities_config
    return {
        "labels": {str(k): v for k, v in component.index_label_id_mapping.items()},
        "entity_tags": entity_tags,
        "ranking_length": int(config["ranking_length"]),
        "renormalize_confidences": bool(config.get("renormalize_confidences")),
        "similarity_type": config["similarity_type"],
        "num_heads": int(encoder._enc_layers[0]._mha.num_heads) if encoder._enc_layers else 0,
        "transformer_size": int(encoder.units),
        "num_layers": len(encoder._enc_layers),
        "ffnn_layers": len(hidden),
        "layer_norm_epsilons": epsilons,
        "split_entities": {str(k): bool(v) for k, v in split.items()},
        "sparse_feature_sizes": {
            k: [int(x) for x in v] for k, v in component._sparse_feature_sizes["text"].items()
        },
    }


def _write_atomically(target: Path, content: bytes) -> None:
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(name, 0o644)
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)
