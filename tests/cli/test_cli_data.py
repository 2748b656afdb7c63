"""The command line on anyone's catalog: --data-dir (plain or CiteULike format), --interactions/--items."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from coldstart.cli.main import main
from tests.conftest import make_clustered

ROWS = {"model", "setting", "recall@20", "ndcg@20", "users", "fit_seconds"}
MODELS = {"coldstart", "content-profile", "als-ridge", "popularity", "random"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """A catalog the project has never seen: string ids, custom column names, no split/."""
    folder = tmp_path_factory.mktemp("never_seen")
    ui, _, _, ic = make_clustered(n_users=60, n_items=90, seed=3)
    coo = ui.tocoo()
    pd.DataFrame({"uid": [f"u{r}" for r in coo.row], "movie": [f"m{c:03d}" for c in coo.col]}).to_csv(
        folder / "interactions.csv", index=False)
    rng = np.random.default_rng(0)
    words = ["space", "love", "war", "crime"]
    pd.DataFrame({"movie": [f"m{i:03d}" for i in range(90)],
                  "title": [f"The {words[c]} story {rng.integers(50)}" for c in ic],
                  "genres": [f"g{c}|g{rng.integers(8)}" for c in ic],
                  "year": [str(1950 + 10 * c + rng.integers(10)) if i % 7 else "" for i, c in enumerate(ic)]}
                 ).to_csv(folder / "items.csv", index=False)
    return folder


def _rows(path):
    rows = json.loads(path.read_text())
    assert all(set(r) == ROWS for r in rows)
    assert MODELS <= {r["model"] for r in rows}
    return {(r["model"], r["setting"]): r for r in rows}


def test_benchmark_on_a_never_seen_folder_and_on_files(catalog, tmp_path, capsys):
    cols = ["--user-col", "uid", "--item-col", "movie"]
    out1, out2 = tmp_path / "dir.json", tmp_path / "files.json"
    assert main(["benchmark", "--data-dir", str(catalog), *cols, "--json", str(out1)]) == 0
    assert "protocol split (seed 0)" in capsys.readouterr().out
    assert main(["benchmark", "--interactions", str(catalog / "interactions.csv"),
                 "--items", str(catalog / "items.csv"), *cols, "--models", ",".join(sorted(MODELS)),
                 "--json", str(out2)]) == 0
    a, b = _rows(out1), _rows(out2)
    assert ("coldstart", "hybrid") in a and ("popularity", "cold") not in a
    for key in (k for k in a if k[0] in MODELS):  # the same data and split either way (LightFM: threads)
        assert a[key]["recall@20"] == pytest.approx(b[key]["recall@20"], abs=1e-6)
    # the attributes are informative here: content beats random on the warm setting
    assert a[("content-profile", "warm")]["recall@20"] > a[("random", "warm")]["recall@20"]


def test_split_command_then_benchmark_uses_the_folder_split(catalog, tmp_path, capsys):
    import shutil

    folder = tmp_path / "cat"
    shutil.copytree(catalog, folder)
    cols = ["--user-col", "uid", "--item-col", "movie"]
    assert main(["split", "--data-dir", str(folder), *cols, "--out", str(folder / "split"), "--seed", "4"]) == 0
    train = pd.read_csv(folder / "split" / "train.csv", dtype=str)
    assert list(train.columns) == ["user", "item"] and train["item"].str.startswith("m").all()
    out = tmp_path / "b.json"
    assert main(["benchmark", "--data-dir", str(folder), *cols, "--models", "random,popularity",
                 "--json", str(out)]) == 0
    assert "fixed split folder" in capsys.readouterr().out


def test_data_errors_are_messages_not_tracebacks(catalog, tmp_path, capsys):
    # a CiteULike-format folder with tags but no mult.dat
    cul = tmp_path / "data" / "citeulike-a"
    cul.mkdir(parents=True)
    (cul / "users.dat").write_text("1 0\n1 1\n")
    (cul / "tag-item.dat").write_text("1 0\n")
    assert main(["benchmark", "--dataset", "citeulike-a", "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert "mult.dat" in err and "Traceback" not in err
    # neither format
    assert main(["benchmark", "--data-dir", str(tmp_path), "--dataset", "nope"]) == 2
    assert "neither the plain format" in capsys.readouterr().err
    # a malformed file: the file and the line are named
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "interactions.csv").write_text("user,item\n1,a\n2,\n")
    assert main(["benchmark", "--data-dir", str(bad)]) == 2
    assert "interactions.csv, line 3: empty item id" in capsys.readouterr().err
    # a blank weight: the commands do not use weights, and the message says how to skip them
    (bad / "interactions.csv").write_text("user,item,weight\n1,a,1\n2,b,\n")
    assert main(["benchmark", "--data-dir", str(bad)]) == 2
    assert "weight is ''" in (err := capsys.readouterr().err) and "--weight-col ''" in err
    (bad / "interactions.csv").write_text("user,item\n1,a\n2,\n")
    # wrong column names: the option to set is named
    assert main(["benchmark", "--data-dir", str(catalog)]) == 2
    assert "--user-col" in capsys.readouterr().err
    # an unknown model: said before any data is read (the folder does not even exist)
    assert main(["benchmark", "--data-dir", str(tmp_path / "absent"), "--models", "popularity,nonsense"]) == 2
    err = capsys.readouterr().err
    assert "--models: unknown or unavailable ['nonsense']; available: coldstart" in err and "Traceback" not in err
    # simulate: the option named, not the config field behind it
    assert main(["simulate", "--steps", "0"]) == 2
    assert "--steps must be a positive integer; received 0" in capsys.readouterr().err
    assert main(["simulate", "--refit-every", "-1"]) == 2
    assert "--refit-every must be 0 (never" in capsys.readouterr().err
    assert main(["simulate", "--data", str(catalog), "--informativeness", "0.5"]) == 2
    assert "--informativeness sets the synthetic world's attributes" in capsys.readouterr().err


@pytest.mark.parametrize("items", [None, "item,genre\n", "item,genre\na,\nb,\n"])
def test_a_catalog_without_attribute_values_is_a_message(tmp_path, capsys, items):
    """No items.csv, a header only, or only empty cells: the commands that fit models say so in
    one line (they printed a traceback); split still works."""
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "interactions.csv").write_text("user,item\n" + "".join(f"u{u},{i}\n" for u in range(6) for i in "ab"))
    if items is not None:
        (folder / "items.csv").write_text(items)
    for cmd in ("benchmark", "demo", "search"):
        assert main([cmd, "--data-dir", str(folder)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and ("no items table" in err or "give no feature" in err
                                           or "no attribute value" in err), err
    assert main(["split", "--data-dir", str(folder), "--out", str(tmp_path / "split")]) == 0


def test_demo_and_simulate_take_a_folder(catalog, capsys):
    cols = ["--user-col", "uid", "--item-col", "movie"]
    assert main(["demo", "--data-dir", str(catalog), *cols, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "brand-new item arrives (item m" in out and "user    u" in out
    assert main(["simulate", "--data-dir", str(catalog), *cols, "--steps", "2", "--users-per-step", "20",
                 "--items-per-step", "3", "--strategies", "zero-shot,content-profile"]) == 0
    assert "new recall" in capsys.readouterr().out


def test_search_scores_what_the_grid_can_change_and_reports_ties(catalog, tmp_path, capsys):
    cols = ["--data-dir", str(catalog), "--user-col", "uid", "--item-col", "movie", "--cv", "2"]
    grid = '{"zero_shot_scale": [1.5, 3.0]}'
    out = tmp_path / "s.json"
    assert main(["search", *cols, "--grid", grid, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "--scoring hybrid:recall@20 (zero_shot_scale rescales every zero-shot vector" in text
    assert json.loads(out.read_text())["scoring"] == "hybrid:recall@20"
    # cold-only scoring cannot tell the candidates apart: a tie, reported as one
    assert main(["search", *cols, "--grid", grid, "--scoring", "cold:ndcg@20", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "tie: 2 candidates share the best cold:ndcg@20" in text and "best: {" not in text
    res = json.loads(out.read_text())
    assert res["best_params"] is None and len(res["tied_best_params"]) == 2
    assert [r["rank_cold:ndcg@20"] for r in res["cv_results"]] == [1, 1]
    assert main(["search", *cols, "--grid", "{bad"]) == 2
    assert "--grid is not valid JSON" in capsys.readouterr().err


def test_temporal_split_on_the_command_line(catalog, tmp_path, capsys):
    """--temporal CUTOFF splits by time: the items first seen after it are the cold ones, the
    same split as temporal_split; without timestamps it is a message."""
    from coldstart.evaluation.datasets import load_folder
    from coldstart.evaluation.splits import temporal_split

    folder = tmp_path / "timed"
    folder.mkdir()
    inter = pd.read_csv(catalog / "interactions.csv")
    inter["when"] = inter["movie"].str[1:].astype(int) * 10 + np.arange(len(inter)) % 7  # items arrive in id order
    inter.to_csv(folder / "interactions.csv", index=False)
    (folder / "items.csv").write_text((catalog / "items.csv").read_text())
    cols = ["--user-col", "uid", "--item-col", "movie", "--timestamp-col", "when"]
    assert main(["split", "--data-dir", str(folder), *cols, "--temporal", "700", "--out", str(tmp_path / "s")]) == 0
    written = pd.read_csv(tmp_path / "s" / "cold_test.csv")
    assert (written["item"].str[1:].astype(int) >= 70).all()  # the late items
    ds = load_folder(folder, user_col="uid", item_col="movie", timestamp_col="when")
    frame = ds.interactions.assign(timestamp=pd.to_numeric(ds.interactions["timestamp"]))
    expected = temporal_split(frame, 700.0, shape=ds.user_items.shape)
    assert len(written) == expected.cold_test.nnz
    assert main(["benchmark", "--data-dir", str(folder), *cols, "--temporal", "700", "--models", "popularity"]) == 0
    assert "temporal split (items first seen after 700)" in capsys.readouterr().out
    assert main(["benchmark", "--data-dir", str(catalog), "--user-col", "uid", "--item-col", "movie",
                 "--temporal", "700", "--models", "popularity"]) == 2
    assert "--temporal needs timestamps" in capsys.readouterr().err
