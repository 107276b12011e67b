"""The ONNX Runtime engine gives the same vectors as sentence-transformers on the same weights."""

import numpy as np
import pytest

from pipeline.encoder import OnnxEncoder, ensure_onnx, load_encoder, model_spec
from pipeline.errors import Invalid

TEXTS = [
    "Caroline: I went to the LGBTQ support group yesterday and it was so powerful.",
    "ok",
    "tool deploy_service(service=api, tag=v2.1) -> error: ImagePullBackOff",
    "word " * 400,  # longer than the model's 256 tokens: both cut it the same way
    "Ünïcödé and emoji 🎉 survive tokenization",
]


def test_onnx_vectors_equal_sentence_transformers_vectors(tmp_path):
    from pipeline.encoder import SentenceEncoder

    onnx = OnnxEncoder("all-MiniLM-L6-v2", tmp_path, threads=2, batch_size=2)
    torch = SentenceEncoder("all-MiniLM-L6-v2", threads=2)
    a, b = onnx.encode(TEXTS), torch.encode(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384)
    assert np.abs(a - b).max() < 1e-5
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_the_export_is_made_once_and_reused(tmp_path):
    path = ensure_onnx(model_spec("all-MiniLM-L6-v2"), tmp_path)
    made = path.stat().st_mtime_ns
    assert ensure_onnx(model_spec("all-MiniLM-L6-v2"), tmp_path) == path
    OnnxEncoder("all-MiniLM-L6-v2", tmp_path)
    assert path.stat().st_mtime_ns == made
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary files left behind


def test_unknown_engines_and_models_are_refused(tmp_path):
    with pytest.raises(Invalid):
        load_encoder("all-MiniLM-L6-v2", "tensorflow", tmp_path)
    with pytest.raises(Invalid):
        model_spec("gpt-7")
