"""The demo's printed conversation: wrapped to its width, French punctuation never alone at the start of a line, the message's own text shown."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.demo.transcript import WIDTH, Transcript

NOW = datetime(2031, 6, 2, 7, 0, tzinfo=UTC)


def _printed(text: str) -> list[str]:
    out: list[str] = []
    transcript = Transcript("fr", ZoneInfo("Europe/Paris"), lambda: NOW, out.append)
    transcript.line("Maillage", text)
    return out


def test_a_long_message_is_wrapped_under_its_speaker() -> None:
    out = _printed("mot " * 60 + "\nseconde ligne")
    assert len(out) > 3 and all(len(line) <= WIDTH for line in out)
    assert out[0].startswith("  Maillage › mot")
    assert all(line.startswith(" " * len("  Maillage › ")) for line in out[1:])
    assert out[-1].strip() == "seconde ligne"


def test_french_punctuation_stays_with_the_word_before_it() -> None:
    for width in range(40, 90):
        text = "x" * (width - 20) + " merci de répondre d'ici 16:00 ; sans réponse : « la suite » ? oui !"
        printed = _printed(text)
        for line in printed:
            assert not line.strip().startswith((":", ";", "?", "!", "»")), line
            assert not line.rstrip().endswith("«"), line
        # The message's own characters are printed: its spaces stay spaces.
        assert " ".join(line.strip() for line in printed).endswith(text[-60:])
