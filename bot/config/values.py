"""Config values pydantic cannot judge alone: refusals in the user's language, variable names that are not secrets."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from bot.kernel.i18n import Msg
from bot.secrets import find_secrets


class Refusal(ValueError):
    """A validator's refusal that carries its own catalog message, so the user reads what was
    expected in their language (pydantic keeps the exception in the error's context)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


# ------------------------------------------------------------------ `*_env` keys

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
"""The portable shape of an environment variable's name (POSIX, shells, systemd, compose files)."""

RANDOM_FROM = 16
"""Shorter names are never judged random: short ones ("PW", "DB_URL_PROD") are too common."""

_HEX = re.compile(r"[0-9a-fA-F]{16,}\Z")
# One piece of a name: a Capitalised or lower-case word, an acronym, or a number.
_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xz]{6,}", re.IGNORECASE)  # HTTPS has five

# Letter pairs that words of names are made of: the 200 most frequent in the product's own
# French and English texts (catalogs, README, design), plus those of the words variable names
# for credentials are made of. A random string draws its pairs uniformly from 676.
_TEXT_PAIRS = """
ab ac ad ag ai al am an ap ar as at au av aw ay ba be bi bj bl bo bu ca ce ch ci ck cl co cr ct
cu da de di dl do dr ds du ea ec ed ee ef eg ei el em en ep er es et eu ev ex ez fa fi fo fr ga
ge gi gr gu ha he hi ho ib ic id ie if ig il im in io ir is it iv je ke kn la le li ll lo ls lu
ly ma mb me mi mm mo mp na nc nd ne nf ng ni nk nn no ns nt nu ob oc od of oi ol om on oo op or
os ot ou ow pa pe pl po pr pt pu qu ra rc rd re rg ri rk rm ro rr rs rt ru ry sa sc se sh si so
ss st su sw ta te th ti tl to tr ts tt tu tw ty ua ub ue ui ul um un uo up ur us ut va ve vi vo
we wh wi wn wo xa xt yo
"""
_VOCABULARY = """
access account admin api app auth aws bot cert client config cred database db dsn env github
homeserver host http jwt key login matrix mx oauth passphrase passwd password pg pickle postgres
private prod redis secret signing slack smtp sql staging store sync synapse test token url user
"""
_COMMON_PAIRS = frozenset(_TEXT_PAIRS.split()) | frozenset(
    word[i:i + 2] for word in _VOCABULARY.split() for i in range(len(word) - 1))


def _word_like(part: str) -> bool:
    """Whether one `_`-separated part reads as words: MATRIX, matrix, MatrixAccessToken, OAUTH2,
    a short code (S3, E2E), a number. Random text fails one of these tests almost always."""
    if len(part) <= 4 or (part.isdigit() and len(part) <= 8):
        return True
    if _HEX.match(part):
        return False
    tokens = _TOKEN.findall(part)
    numbers = [t for t in tokens if t.isdigit()]
    if len(numbers) > 1 or any(len(n) > 4 for n in numbers):
        return False  # names carry at most a version number; random text scatters digits
    words = [t for t in tokens if not t.isdigit()]
    if len(words) > 1:
        for i, token in enumerate(tokens):
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            # A lone letter is a version's prefix (V2) or a final initial, not part of a word.
            if len(token) == 1 and not token.isdigit() and following and not following.isdigit():
                return False
        if sum(1 for w in words if w.isupper() and len(w) > 1) > 2:
            return False
    if len(part) >= 8 and len(part) / len(tokens) < 2.5:
        return False  # too many short pieces: the case and digits keep switching
    return not any(_CONSONANTS.search(w) for w in words)


def looks_random(value: str) -> bool:
    """Whether a value is more likely a generated secret (a long random or hexadecimal string)
    than words. Measured on 300 000 random strings of each kind: hex strings of 16 characters
    or more were all caught, letters-and-digits strings of 43 (the length of
    `secrets.token_urlsafe()`) all of them, `secrets.token_urlsafe()` itself (its `_` splits
    words) all but one, strings of 32 all but 6; shorter ones are best effort (99.9 % at 20,
    99.7 % at 16). Names made of words pass: of 300 000 built from one to four words of the
    catalogs, 12 were taken for secrets (`AFTER_AFTERWARDS`: rare letter pairs); camelCase
    names with one-letter words (`OAuth2Secret`) are the other known false alarms."""
    if len(value) < RANDOM_FROM:
        return False
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", value) if p]  # words between _ (or - . …)
    if not all(_word_like(p) for p in parts):
        return True
    pairs = [token.lower()[i:i + 2] for p in parts for token in _TOKEN.findall(p) if not token.isdigit()
             for i in range(len(token) - 1)]
    return len(pairs) >= 4 and sum(pair in _COMMON_PAIRS for pair in pairs) / len(pairs) < 0.6


def looks_like_secret(value: str) -> bool:
    """A credential's known shape (Slack, Matrix tokens), a URL, or a long random string."""
    return bool(find_secrets(value)) or "://" in value or looks_random(value)


def check_env_name(value: str) -> str:
    """A `*_env` key names the variable that holds a secret; a value that looks like the secret
    itself is refused, and the message never repeats it (it would land in a terminal or a CI log)."""
    if looks_like_secret(value) or (not ENV_NAME.match(value) and len(value) >= RANDOM_FROM):
        raise Refusal(Msg("config.err.env_is_secret"))
    if not ENV_NAME.match(value):
        raise Refusal(Msg("config.err.env_name"))
    return value


EnvName = Annotated[str, AfterValidator(check_env_name)]
"""The type of every `*_env` key of the config."""
