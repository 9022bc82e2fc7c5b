"""Lexicons as data (engine.lexicon.lexicon), the Unicode tables the tokenizer uses
(engine.lexicon.unicode) and their compilation into the kernels' integer tables
(engine.lexicon.matcher)."""
from engine.lexicon.lexicon import (FORMAT, GENDERS, Lexicon, LexiconError, Target, builtin_names,
                                    lexicon_from_dict, load_lexicon)

__all__ = ["FORMAT", "GENDERS", "Lexicon", "LexiconError", "Target", "builtin_names",
           "lexicon_from_dict", "load_lexicon"]
