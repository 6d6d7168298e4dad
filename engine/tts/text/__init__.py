"""Text front-end: bulletin text to speakable text, and sentences and clauses for streaming synthesis.

Vietnamese (South and North readings) and Khmer are normalized in full; the other supported languages get
whitespace clean-up and segmentation only. See normalize.py for the entry points.
"""

from __future__ import annotations

from .model import Clause, Normalized, Sentence, Span, TextWarning
from .normalize import FULL_LANGUAGES, SUPPORTED_LANGUAGES, normalize, resolve_language, sentences

__all__ = [
    "FULL_LANGUAGES",
    "SUPPORTED_LANGUAGES",
    "Clause",
    "Normalized",
    "Sentence",
    "Span",
    "TextWarning",
    "normalize",
    "resolve_language",
    "sentences",
]
