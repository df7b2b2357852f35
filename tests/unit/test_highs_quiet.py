"""The HiGHS solver never writes its banner or its log to the user's terminal: checked at the
level of the process's file descriptors 1 and 2, where a C++ library writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.sortition.draw import feasible
from scenarios.sortition.leximin import build_problem, leximin
from scenarios.sortition.pool import expand_quotas, parse_people_csv, parse_quotas_csv

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "sortition"

# The banner is printed once per process, by the first solver that logs: an earlier test of
# this process may already have spent it, so the decisive checks run in fresh processes.
BANNER_PROBE = "import highspy; highspy.Highs(); print('made', flush=True)"


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_probe_sees_the_banner_of_a_default_solver() -> None:
    # What the checks below would catch: highspy's default constructor prints the banner.
    res = _fresh(BANNER_PROBE)
    assert "HiGHS" in res.stdout + res.stderr and "made" in res.stdout


def test_a_draw_prints_nothing_but_its_result() -> None:
    code = (
        "from scenarios.sortition.leximin import build_problem, leximin\n"
        "from scenarios.sortition.pool import expand_quotas, parse_people_csv, parse_quotas_csv\n"
        f"people = parse_people_csv(open({str(DATA / 'pool40.csv')!r}, encoding='utf-8').read())\n"
        f"quotas = parse_quotas_csv(open({str(DATA / 'quotas40.csv')!r}, encoding='utf-8').read())\n"
        "dist = leximin(build_problem(people, expand_quotas(quotas, people, 3), 3))\n"
        "print('smallest', round(dist.smallest(), 6), flush=True)\n"
    )
    res = _fresh(code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [next(line for line in res.stdout.splitlines() if line.startswith("smallest"))]
    assert "HiGHS" not in res.stdout + res.stderr and res.stderr == ""


def test_the_draw_command_shows_no_solver_output() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "bot.cli", "draw", "run", "--pool", str(DATA / "pool40.csv"),
         "--quotas", str(DATA / "quotas40.csv"), "-k", "3", "--seed", "quiet"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert res.returncode == 0, res.stderr
    for marker in ("HiGHS", "Running", "Copyright", "Model status", "Coefficient ranges", "Presolving"):
        assert marker not in res.stdout + res.stderr


def test_solving_in_this_process_writes_nothing_on_fd_1_or_2(capfd: pytest.CaptureFixture[str]) -> None:
    people = parse_people_csv((DATA / "pool40.csv").read_text("utf-8"))
    quotas = parse_quotas_csv((DATA / "quotas40.csv").read_text("utf-8"))
    bounds = expand_quotas(quotas, people, 3)
    capfd.readouterr()
    assert feasible(people, bounds, 3)
    dist = leximin(build_problem(people, bounds, 3))
    out, err = capfd.readouterr()
    assert dist.smallest() > 0
    assert (out, err) == ("", "")
