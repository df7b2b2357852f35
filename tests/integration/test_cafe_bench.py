"""bench/cafe.py: a year of café-réseau (12 rounds, 60 members in 15 organisations, 10 newcomers)
through the ritual's own code: no pair inside one organisation, no pair repeated while an
unrepeated pairing existed; and a small network where repeats cannot be avoided, so the second
figure is seen to count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.cafe import simulate

ROOT = Path(__file__).resolve().parents[2]


def test_a_year_of_cafes_has_no_pair_inside_an_organisation_and_no_needless_repeat() -> None:
    year = simulate(1)
    assert len(year.rounds) == 12
    assert year.total("same_org") == 0
    assert year.total("avoidable") == 0
    assert all(r.alone == 0 and r.groups >= 20 for r in year.rounds)
    # Every newcomer of a round met someone of long standing.
    assert year.total("newcomers") > 0 and year.total("newcomers_with_elder") == year.total("newcomers")


def test_in_a_small_network_repeats_come_only_once_every_unrepeated_pairing_is_spent() -> None:
    year = simulate(1, founders=8, orgs=4, newcomers=2, opted=8, changes=0)
    assert year.total("same_org") == 0
    assert year.total("repeated") > 0  # ten people cannot meet anew for twelve months…
    assert year.total("avoidable") == 0  # …and no repeat came while a fresh pairing existed


def test_the_script_prints_both_figures() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "cafe.py")], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert "pairs inside one organisation: 0\n" in out
    assert "pairs repeated while an unrepeated pairing existed: 0\n" in out
    assert out.count("| 2027-") == 12
