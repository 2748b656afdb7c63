"""``coldstart benchmark --user-features``: the cold-user setting from a user attribute file."""

from __future__ import annotations

import numpy as np
import pandas as pd

from coldstart.cli.main import main
from coldstart.simulation.synthetic import make_world
from coldstart.simulation.user_attributes import make_user_attributes


def test_benchmark_adds_the_cold_user_setting(tmp_path, capsys):
    w = make_world(n_users=300, n_items=400, random_state=0)
    coo = w.user_items.tocoo()
    pd.DataFrame({"user": coo.row, "item": coo.col}).to_csv(tmp_path / "inter.csv", index=False)
    items = pd.DataFrame(w.item_features.toarray()[:, :30], columns=[f"f{j}" for j in range(30)])
    items.insert(0, "item", np.arange(400))
    items.to_csv(tmp_path / "items.csv", index=False)
    _, XU, _ = make_user_attributes(w, 0.8, random_state=0)
    users = pd.DataFrame(XU.toarray(), columns=[f"a{j}" for j in range(XU.shape[1])])
    users.insert(0, "user", np.arange(300))
    users.to_csv(tmp_path / "users.csv", index=False)
    argv = ["benchmark", "--interactions", str(tmp_path / "inter.csv"), "--items", str(tmp_path / "items.csv"),
            "--models", "popularity", "--json", str(tmp_path / "out.json")]
    assert main(argv + ["--user-features", str(tmp_path / "users.csv")]) == 0
    out = capsys.readouterr().out
    assert "cold-users recall@20" in out
    rows = pd.read_json(tmp_path / "out.json")
    cu = rows[rows.setting == "cold-users"].set_index("model")
    assert set(cu.index) == {"coldstart", "popularity"} and (cu["users"] == 30).all()
    assert cu.loc["coldstart", "recall@20"] > cu.loc["popularity", "recall@20"]
    # a file without the id column: a readable error, exit status 2
    users.drop(columns="user").to_csv(tmp_path / "bad.csv", index=False)
    assert main(argv + ["--user-features", str(tmp_path / "bad.csv")]) == 2
    assert "--user-features" in capsys.readouterr().err
