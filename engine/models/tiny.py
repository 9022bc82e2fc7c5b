"""A tiny randomly initialised causal LM, to try `probe` and `generate` without a real model.

``build_tiny_model(DIR)`` saves a 1-layer GPT-2 with random weights and a word-level tokenizer
(lowercasing, split like the corpus tokenizer) whose vocabulary holds every word of the prompt
templates and of the chosen lexicons (all groups' forms and all targets' forms), so the lexicon's
terms are single known tokens rather than ``[UNK]``. Its probabilities and generations are
**noise**: it exists for tests, demos and benchmarks (`tracebias dev tiny-model DIR`).
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from engine.lexicon import Lexicon, load_lexicon
from engine.lexicon.unicode import pretokenize

SPECIALS = ("[UNK]", "[PAD]", "[EOS]")
NOISE_WARNING = ("warning: {path} is a randomly initialised model: its probabilities, probe "
                 "shares, WinoBias scores and generations are noise; use it only to try the "
                 "commands, never as a result")
# a few common words so that generated text and WinoBias sentences are not all [UNK]
COMMON_WORDS = (
    "a an the and or but if because so that who which what when where why how to of in on at "
    "for with from by about as into after before than then not no yes is are was were be been "
    "has have had do does did can could will would should may might must i you we they it this "
    "these those there here one two some all very good bad new old young kind late capable "
    "highly competent work works worked job person people day time year man woman boy girl "
    "name asked told said gave called hired wanted needed helped because . , ; : ! ? ' \" -")


def lexicon_words(lexicon: Lexicon) -> set[str]:
    """The lowercased words of every group form and every target form."""
    words: set[str] = set()
    forms = [f for a in lexicon.axes for g in a.groups for f in g.forms]
    forms += [f for t in lexicon.targets for f in t.forms]
    for f in forms:
        words.update(tok for tok, _ in pretokenize(f))
    return words


def template_words() -> set[str]:
    data = json.loads(resources.files("engine").joinpath("data/prompt_templates.json").read_text())
    words: set[str] = set()
    for kind in ("base", "instruct"):
        for t in data[kind]:
            text = t["template"].replace("{occupation}", " ").replace("{a}", "a an")
            words.update(tok for tok, _ in pretokenize(text))
    return words


def text_words(path: str | Path) -> set[str]:
    """Words of a text file, or of every file in a directory (for ``--vocab-from``)."""
    p = Path(path)
    files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    words: set[str] = set()
    for f in files:
        words.update(tok for tok, _ in pretokenize(f.read_text(encoding="utf-8", errors="replace")))
    return words


def tiny_vocabulary(lexicons=("tracing-bias", "default"), extra_words=()) -> list[str]:
    """Specials first, then every word sorted: the same inputs give the same ids."""
    words = set(pretokenize_words(COMMON_WORDS)) | template_words() | set(extra_words)
    for lex in lexicons:
        words |= lexicon_words(lex if isinstance(lex, Lexicon) else load_lexicon(lex))
    words -= set(SPECIALS)
    return list(SPECIALS) + sorted(words)


def pretokenize_words(text: str) -> list[str]:
    return [tok for tok, _ in pretokenize(text)]


def _word_level_tokenizer(vocab: list[str]):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return tk


def _byte_bpe_tokenizer(words: list[str], vocab_size: int):
    """A byte-level BPE (GPT-2 style, no lowercasing) trained on the words, with and without a
    capital: a small ``vocab_size`` leaves most words as several tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    lines = [" ".join(words), " ".join(w[:1].upper() + w[1:] for w in words)]
    tk.train_from_iterator(lines * 3, trainer)
    return tk


def build_tiny_model(path: str | Path, lexicons=("tracing-bias", "default"), extra_words=(),
                     seed: int = 0, n_layer: int = 1, n_embd: int = 32, n_head: int = 2,
                     n_positions: int = 256, initializer_range: float = 0.02,
                     tokenizer: str = "word", bpe_vocab_size: int = 400) -> Path:
    """Save a random GPT-2 + tokenizer to ``path``; return the path.

    ``tokenizer="word"`` (default): a word-level vocabulary of the lexicons' and templates' words
    (every lexicon term is one token, other words are ``[UNK]``). ``tokenizer="bpe"``: a small
    byte-level BPE like GPT-2's, where most terms are several tokens and no text is unknown
    (to exercise multi-token continuations). ``initializer_range`` is GPT-2's weight init scale:
    the default 0.02 gives nearly uniform next-token distributions; tests use a larger value so
    that outputs differ a lot between tokens and a wrong computation cannot pass by accident.
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = tiny_vocabulary(lexicons, extra_words)
    if tokenizer == "word":
        tk = _word_level_tokenizer(words)
    elif tokenizer == "bpe":
        tk = _byte_bpe_tokenizer([w for w in words if w not in SPECIALS], bpe_vocab_size)
    else:
        raise ValueError(f"tokenizer {tokenizer!r}: use word or bpe")
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]",
                                  eos_token="[EOS]")
    size = tk.get_vocab_size()
    eos, pad = tk.token_to_id("[EOS]"), tk.token_to_id("[PAD]")
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=size, n_positions=n_positions,
                                       n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                                       bos_token_id=eos, eos_token_id=eos, pad_token_id=pad,
                                       initializer_range=initializer_range))
    model.eval()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "TINY_RANDOM_MODEL.txt").write_text(
        NOISE_WARNING.format(path=out) + f"\nseed={seed} tokenizer={tokenizer} "
        f"vocabulary={size} tokens\n")
    return out
