from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ["PYSPARK_PYTHON"] = sys.executable  # executors run this interpreter (with the engine)
os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TRACEBIAS_SHARED", ROOT.parent / "shared" / "data"))
WIKI = SHARED / "wikipedia-en" / "documents"


def small_lexicon_dict() -> dict:
    return {
        "format": "tracebias-lexicon/1",
        "name": "small",
        "version": "1",
        "genders": {"female": ["she", "her", "Mrs."], "male": ["he", "his", "Mr."]},
        "targets": [
            {"name": "nurse", "forms": ["nurse", "nurses"]},
            {"name": "police officer", "forms": ["police officer", "police officers"]},
            {"name": "officer", "forms": ["officer"]},
            {"name": "engineer", "forms": ["engineer"]},
        ],
    }


@pytest.fixture
def small_lexicon():
    from engine.lexicon import lexicon_from_dict

    return lexicon_from_dict(small_lexicon_dict())


@pytest.fixture(scope="session")
def wiki_dir() -> Path:
    if not WIKI.is_dir():
        pytest.skip(f"shared Wikipedia shards not found at {WIKI}")
    return WIKI


def synthetic_texts(root: Path, shards: int = 1, docs_per_shard: int = 150) -> list[str]:
    """The texts of a small default-style corpus (no bad lines)."""
    import gzip
    import json

    from engine.corpus.synth import SynthConfig, generate_corpus

    corpus = generate_corpus(root, SynthConfig(shards=shards, docs_per_shard=docs_per_shard,
                                               inject_bad_lines=False))
    return [json.loads(x)["text"] for p in corpus.shards for x in gzip.open(p)]


def train_bpe(texts: list[str], path: Path, vocab_size: int = 500) -> str:
    """A byte-level BPE trained here on ``texts`` (no download), saved as tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["[UNK]"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(path))
    return str(path)
