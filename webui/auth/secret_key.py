"""Refusing a ``webserver.secret_key`` that someone else could know or guess.

The key signs every JWT and the UI's CSRF tokens: whoever has it can mint a token for
any user, Admins included. So the webserver (``loom webserver`` and ``loom standalone``)
refuses to start with a key that is

- missing;
- a placeholder: one Loom has shipped (:data:`KNOWN_PLACEHOLDERS`), or one that says it
  is one (:data:`PLACEHOLDER_WORDS`, in any case, with or without separators);
- shorter than :data:`MIN_SECRET_LENGTH` characters;
- guessable: a run of :data:`REPEAT_RUN` characters appears twice (a phrase repeated to
  reach the length), or the characters step through a sequence (``abcdef...``,
  ``13579...``); or its estimated entropy, length * log2(distinct characters), is
  below :data:`MIN_SECRET_BITS`.

The estimate cannot see that a long English sentence is guessable; it catches what
people type to get past a length check. Each refusal says how to make a good key.
"""

from __future__ import annotations

import itertools
import math
import re

from engine.errors import ConfigError

MIN_SECRET_LENGTH = 32
"""Shorter secrets are refused: HS256 keys should be at least 256 bits."""

MIN_SECRET_BITS = 96
"""Least estimated entropy (length * log2 of the distinct characters). The estimate
undercounts random keys, whose characters repeat by chance: a 32-character hex key (128
bits) scores less only when it has seven or fewer distinct digits (about once in 10^8);
``token_urlsafe(48)`` scores about 340, 32 characters of ``0`` and ``1`` score 32."""

REPEAT_RUN = 8
"""A run of this many characters (or steps between characters) that appears twice means
the key repeats itself; in a random key of printable characters that is vanishingly rare."""

KNOWN_PLACEHOLDERS = frozenset(
    {
        "change-me",
        "change-me-to-a-long-random-string-of-48-characters",
        "insecure-compose-key-change-me-0123456789abcdef",
    }
)
"""Keys Loom's own files have carried as examples (compared in lower case)."""

PLACEHOLDER_WORDS = ("changeme", "replaceme", "insecure", "placeholder")
"""A key containing one of these (ignoring case and separators) says it is not real."""

HOW_TO_MAKE_ONE = (
    "Set webserver.secret_key in loom.yaml or LOOM__WEBSERVER__SECRET_KEY to a long random "
    "string, e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
)

_SEPARATORS = re.compile(r"[^0-9a-z]+")


def check_secret(secret: str) -> str:
    """``secret`` when it is fit to sign tokens; ConfigError saying why and how otherwise."""
    problem = secret_problem(secret)
    if problem is not None:
        raise ConfigError(f"webserver.secret_key {problem}. {HOW_TO_MAKE_ONE}")
    return secret


def secret_problem(secret: str) -> str | None:
    """What is wrong with ``secret`` as a signing key (never quoting it), or None."""
    if not secret:
        return "is not set: the webserver signs its tokens with it"
    if is_placeholder(secret):
        return "is a placeholder from an example: anyone could sign tokens with it"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters long"
    if _repeats(secret) or _repeats(_steps(secret)):
        return (
            "has too little entropy: it repeats itself or steps through a sequence "
            f"(a run of {REPEAT_RUN} characters appears twice)"
        )
    bits = estimated_bits(secret)
    if bits < MIN_SECRET_BITS:
        return (
            f"has too little entropy: about {bits:.0f} bits from its "
            f"{len(set(secret))} distinct characters, at least {MIN_SECRET_BITS} needed"
        )
    return None


def is_placeholder(secret: str) -> bool:
    """Whether ``secret`` is a known example key or says it is a placeholder."""
    lowered = secret.strip().lower()
    squeezed = _SEPARATORS.sub("", lowered)
    return lowered in KNOWN_PLACEHOLDERS or any(word in squeezed for word in PLACEHOLDER_WORDS)


def estimated_bits(secret: str) -> float:
    """Entropy of ``secret`` as if each character were drawn from those it contains."""
    return len(secret) * math.log2(len(set(secret))) if secret else 0.0


def _repeats(text: str) -> bool:
    seen: set[str] = set()
    for start in range(len(text) - REPEAT_RUN + 1):
        run = text[start : start + REPEAT_RUN]
        if run in seen:
            return True
        seen.add(run)
    return False


def _steps(text: str) -> str:
    """The differences between neighbouring characters, as characters: constant in a sequence."""
    return "".join(chr((ord(b) - ord(a)) % 0x110000) for a, b in itertools.pairwise(text))
