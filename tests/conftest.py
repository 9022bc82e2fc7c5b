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
