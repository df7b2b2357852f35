"""`maillage draw run|verify|commit` from CSV files, with clear messages for bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.cli import draw as cli_draw
from tests.spaces import spaces

DATA = Path(__file__).resolve().parents[1] / "data" / "sortition"
POOL = str(DATA / "pool40.csv")
QUOTAS = str(DATA / "quotas40.csv")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="maillage")
    cli_draw.register(p.add_subparsers(dest="command", required=True))
    return p


async def main(*argv: str) -> int:
    args = parser().parse_args(list(argv))
    code: int = await args.func(args)
    return code


async def test_run_prints_panel_and_every_probability_then_verify_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tirage.json"
    code = await main("draw", "run", "--pool", POOL, "--quotas", QUOTAS, "-k", "3",
                      "--seed", "dés 3 5 6", "--seed", "loto 4 8 15", "--out", str(out))
    shown = spaces(capsys.readouterr().out)
    assert code == 0
    record = json.loads(out.read_text("utf-8"))
    assert f"Panel : {', '.join(record['final_panel'])}" in shown
    assert shown.count("(1/14)") == 14 and shown.count("(1/13)") == 26
    assert "Total : 3" in shown and record["hashes"]["draw"] in shown

    assert await main("draw", "verify", str(out)) == 0
    assert "se reproduit à l'identique" in capsys.readouterr().out

    record["final_panel"] = ["m01", "m15", "m28"]
    out.write_text(json.dumps(record), "utf-8")
    assert await main("draw", "verify", str(out), "--lang", "en") == 1
    assert "does NOT reproduce" in capsys.readouterr().out


async def test_same_seed_same_panel_and_without_seed_a_random_one_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = (tmp_path / f"{x}.json" for x in "abc")
    for path in (a, b):
        assert await main("draw", "run", "--pool", POOL, "--quotas", QUOTAS, "-k", "3", "--seed", "42",
                          "--out", str(path)) == 0
    assert a.read_bytes() == b.read_bytes()
    capsys.readouterr()
    assert await main("draw", "run", "--pool", POOL, "-k", "3", "--out", str(c), "--lang", "en") == 0
    assert "No seed given" in capsys.readouterr().out
    assert await main("draw", "verify", str(c)) == 0


async def test_exclusions_sit_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert await main("draw", "run", "--pool", POOL, "--quotas", QUOTAS, "-k", "3", "--seed", "s",
                      "--exclude", "m01", "--exclude", "m02", "--out", str(out)) == 0
    record = json.loads(out.read_text("utf-8"))
    assert [e["id"] for e in record["excluded"]] == ["m01", "m02"]
    assert "m01" not in record["probabilities"]


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("pool", "quotas", "k", "expected"),
    [
        (POOL, QUOTAS, "41", "le vivier n'en compte que 40"),
        (POOL, "attribute,value,min,max\nage,*,1,1\n", "3", "Attribut inconnu « age »"),
        (POOL, "attribute,value,min,max\nterritoire,*,2,1\n", "3", "le minimum dépasse le maximum"),
        (POOL, "attribute,value,min,max\nterritoire,*,1,1\nterritoire,Nord,2,2\n", "3", "Quotas contradictoires"),
        (POOL, "attribute,value,min,max\nterritoire,*,2,2\n", "3", "les minimums additionnés font 6 pour 3 places"),
        ("id,territoire\nx,Nord\ny\n", None, "1", "ligne 3 : 1 valeur au lieu de 2"),
        ("nom,territoire\nx,Nord\n", None, "1", "n'a pas de colonne id"),
        (POOL, "attribute,value,min,max\ngenre,femme,un,2\n", "3", "« un » n'est pas un nombre entier"),
        ("absent.csv", None, "1", "Fichier introuvable"),
    ],
)
async def test_bad_input_gets_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pool: str, quotas: str | None, k: str, expected: str
) -> None:
    if "\n" in pool:
        pool = _write(tmp_path, "people.csv", pool)
    elif pool == "absent.csv":
        pool = str(tmp_path / pool)
    argv = ["draw", "run", "--pool", pool, "-k", k, "--seed", "s"]
    if quotas is not None:
        argv += ["--quotas", quotas if not quotas.startswith("attribute") else _write(tmp_path, "q.csv", quotas)]
    assert await main(*argv) == 2
    err = spaces(capsys.readouterr().err)
    assert expected in err, err


async def test_verify_rejects_what_is_not_a_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await main("draw", "verify", _write(tmp_path, "x.json", "{pas du json")) == 2
    assert "n'est pas du JSON valide" in capsys.readouterr().err
    assert await main("draw", "verify", _write(tmp_path, "y.json", "[1, 2]")) == 2
    assert await main("draw", "verify", _write(tmp_path, "z.json", '{"format": "maillage-draw/1"}')) == 1
    assert "mal formé" in capsys.readouterr().out


async def test_commit_prints_the_fingerprint(capsys: pytest.CaptureFixture[str]) -> None:
    assert await main("draw", "commit", "abc") == 0
    assert "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" in capsys.readouterr().out
