"""Text processing: normalization, tokens and their index terms, sentences, transliteration."""
