"""
Lead scoring: fitting (features, grouping and the Newton fit) and scoring n leads, for n = 10,000,
30,000 and 100,000 planted leads (about 3 activities each), with the pure-Python engine (the
oracle) against the numpy engine, and scoring against a numpy matrix product of the same features
(the least any scorer does), in the same process.  scikit-learn's LogisticRegression joins when it
is installed.  On a noisy machine only the ratios and the growth exponent k (time ~ n^k, fitted
from the sizes by least squares on the logs) mean anything; k near 1 is linear.

    python benchmarks/bench_scoring.py [--quick]

--quick runs 2,000 and 6,000 leads.
"""

import importlib
import importlib.util
import math
import sys
import time

from funnelkit.scoring import auc, fit_lead_scores, plant_lead_history
from funnelkit.scoring._features import by_lead, features, window_end

QUICK = "--quick" in sys.argv
SIZES = (2_000, 6_000) if QUICK else (10_000, 30_000, 100_000)
NP = importlib.import_module("numpy") if importlib.util.find_spec("numpy") else None
SK = importlib.util.find_spec("sklearn") is not None


def timed(fn):
    """(seconds, result) of one call of *fn*."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def exponent(sizes, seconds):
    """k in time ~ n^k, least squares on the logs."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(max(s, 1e-9)) for s in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def matrix(model, history):
    """The feature matrix of every lead, as the model reads it (numpy)."""
    acts = by_lead(history.activities, None, {x.id for x in history.leads})
    index = {name: j for j, name in enumerate(model.features)}
    x = NP.zeros((len(history.leads), len(index)))
    for i, lead in enumerate(history.leads):
        end = window_end(lead, model.window, history.end)
        for k, v in features(lead, acts.get(lead.id, ()), end, model.currency).items():
            if k in index:
                x[i, index[k]] = v
    return x


def run(n):
    """Seconds for each measure at *n* leads, and the AUC of the scores on the leads learnt from."""
    h = plant_lead_history(leads=n, days=max(365, n // 50), seed=1)
    out = {}
    out["fit python"], model = timed(
        lambda: fit_lead_scores(
            h.leads, h.activities, opportunities=h.opportunities, now=h.end, engine="python"
        )
    )
    out["score_all"], scored = timed(lambda: model.score_all(h.leads, h.activities, now=h.end))
    won = {o.lead_id for o in h.opportunities}
    if NP is not None:
        out["fit numpy"], fast = timed(
            lambda: fit_lead_scores(
                h.leads, h.activities, opportunities=h.opportunities, now=h.end, engine="numpy"
            )
        )
        assert max(abs(a - b) for a, b in zip(model.coefficients, fast.coefficients, strict=True)) < 1e-9
        x = matrix(model, h)
        coef = NP.asarray(model.coefficients)
        out["score numpy"], _ = timed(lambda: 1 / (1 + NP.exp(-(x @ coef + model.intercept))))
        if SK:
            from sklearn.linear_model import LogisticRegression

            labels = [lead.id in won for lead in h.leads]
            out["sklearn fit"], _ = timed(lambda: LogisticRegression(C=1.0, max_iter=200).fit(x, labels))
    area = float(auc([s.probability for s in scored], [s.lead_id in won for s in scored]))
    return out, area


def main():
    """Time each size, print one row per size, then the exponents."""
    rows = {}
    head = ("n", "fit py s", "fit np s", "py/np", "score s", "np dot s", "ratio", "AUC")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (8, 9, 9, 6, 8, 9, 6, 6), strict=True)))
    for n in SIZES:
        out, area = run(n)
        for k, v in out.items():
            rows.setdefault(k, []).append(v)
        fit_np, dot = out.get("fit numpy", math.nan), out.get("score numpy", math.nan)
        print(
            f"{n:>8,} {out['fit python']:>9.2f} {fit_np:>9.2f} {out['fit python'] / fit_np:>6.2f} "
            f"{out['score_all']:>8.2f} {dot:>9.4f} {out['score_all'] / dot:>6.0f} {area:>6.3f}"
        )
        if "sklearn fit" in out:
            print(f"{'':>8} scikit-learn fit of the same matrix: {out['sklearn fit']:.3f} s")
    for name, seconds in rows.items():
        if len(seconds) == len(SIZES):
            print(f"growth exponent k, {name}: {exponent(SIZES, seconds):.2f}")


if __name__ == "__main__":
    main()
