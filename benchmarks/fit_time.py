"""Default fit time against an earlier revision's default fit (issue 13: "the default fit is at
most 2x today's", today being the code the issue was filed against, ``4d1895b``).

Each catalog of the collection is loaded once here (training pairs of its fixed split and its
reference features), written to a temporary folder, and fitted by ``ColdStartRecommender
(random_state=0)`` of each revision in its own process (the revision checked out with ``git
worktree`` into a temporary folder), alternating revisions, ``--runs`` times each; every
process first runs a tiny fit so that imports and thread start-up are not timed. The machine
should be otherwise idle. Writes ``benchmarks/results/fit_time.{json,md}``.

Usage (from the repository root)::

    python benchmarks/fit_time.py [--against 4d1895b] [--runs 2] [--catalogs ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from citeulike import hardware  # noqa: E402
from collection import CATALOGS, load  # noqa: E402

FILED = "4d1895b"  # the last commit before issue 13's work: the default fit "today"

CHILD = r"""
import json, sys, time, numpy as np, scipy.sparse as sp
sys.path.insert(0, sys.argv[1])
import coldstart
assert coldstart.__file__.startswith(sys.argv[1]), coldstart.__file__
from coldstart import ColdStartRecommender
ui = sp.load_npz(sys.argv[2]).tocsr()
X = sp.load_npz(sys.argv[3]).tocsr()
ColdStartRecommender(factors=8, iterations=1, random_state=0).fit(ui[:300], X)
t = time.perf_counter()
m = ColdStartRecommender(random_state=0).fit(ui, X)
took = time.perf_counter() - t
print(json.dumps((getattr(m, "validation_", None) or {}).get("seconds")))
print(took)
"""


def main() -> int:
    import scipy.sparse as sp

    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--against", default=FILED)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--catalogs", default=",".join(CATALOGS))
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.against], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            for cat in args.catalogs.split(","):
                ds, split = load(cat, Path(args.data_dir))
                ui, X = Path(tmp) / f"{cat}_ui.npz", Path(tmp) / f"{cat}_X.npz"
                sp.save_npz(ui, sp.csr_matrix(split.train))
                sp.save_npz(X, sp.csr_matrix(ds.item_features))
                times: dict = {args.against: [], head: []}
                stages = []  # the head revision's validation_["seconds"] per run
                for _ in range(args.runs):
                    for rev, root in ((args.against, old), (head, ROOT)):
                        out = subprocess.run([sys.executable, "-c", CHILD, str(root), str(ui), str(X)],
                                             capture_output=True, text=True, check=True).stdout.splitlines()
                        times[rev].append(round(float(out[-1]), 2))
                        if rev == head:
                            stages.append(json.loads(out[-2]))
                before, now = min(times[args.against]), min(times[head])
                fastest = stages[times[head].index(now)]
                rows.append({"catalog": cat, "seconds": times, "ratio_of_fastest": round(now / before, 2),
                             "stages": None if fastest is None else {k: round(v, 2) for k, v in fastest.items()}})
                print(rows[-1], flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, capture_output=True)
    lines = [f"| catalog | {args.against} fits (s) | {head} fits (s) | fastest / fastest |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['catalog']} | {', '.join(map(str, r['seconds'][args.against]))} | "
                     f"{', '.join(map(str, r['seconds'][head]))} | {r['ratio_of_fastest']:.2f} |")
    staged = [r for r in rows if r.get("stages")]
    if staged:  # where the head revision's fastest fit spent its time (validation_["seconds"])
        names = list(staged[0]["stages"])
        lines += ["", f"{head}'s fastest fit by stage (`validation_[\"seconds\"]`; the rest: checks, weighting, "
                  "the posterior spread):", "", "| catalog | " + " | ".join(names) + " | rest |",
                  "|---|" + "---|" * (len(names) + 1)]
        for r in staged:
            rest = min(r["seconds"][head]) - sum(r["stages"].values())
            lines.append(f"| {r['catalog']} | " + " | ".join(f"{r['stages'][n]:.2f}" for n in names)
                         + f" | {rest:.2f} |")
    md = (f"# Default fit time: {head} against {args.against}\n\n"
          "`ColdStartRecommender(random_state=0).fit(train, reference features)`, each fit in its own "
          "process, revisions alternating.\n\n" + "\n".join(lines) + f"\n\nHardware: {', '.join(f'{k} {v}' for k, v in hardware().items())}.\n\n"
          f"Command: `python benchmarks/fit_time.py --against {args.against} --runs {args.runs}`.\n")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit_time.json").write_text(json.dumps({"against": args.against, "head": head, "hardware": hardware(),
                                                   "rows": rows}, indent=1) + "\n")
    (out / "fit_time.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
