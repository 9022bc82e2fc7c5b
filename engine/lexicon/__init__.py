"""Lexicons as data (engine.lexicon.lexicon), the Unicode tables the tokenizer uses
(engine.lexicon.unicode) and their compilation into the kernels' integer tables
(engine.lexicon.matcher)."""
from engine.lexicon.lexicon import (CASE_RULES, FORMAT, FORMAT_V1, GENDERS, Axis, Group, Lexicon,
                                    LexiconError, Target, builtin_names, form_words,
                                    lexicon_from_dict, load_lexicon, resolve_lexicon)

__all__ = ["CASE_RULES", "FORMAT", "FORMAT_V1", "GENDERS", "Axis", "Group", "Lexicon",
           "LexiconError", "Target", "builtin_names", "form_words", "lexicon_from_dict",
           "load_lexicon", "resolve_lexicon"]
