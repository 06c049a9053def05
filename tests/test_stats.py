"""Bootstrap intervals over seeds (fpkit.metrics.stats): known answers, coverage, pairing."""

import numpy as np
import pandas as pd
import pytest

from fpkit.metrics import bootstrap_ci, paired_difference, summarize_ci


def test_constant_values_give_a_zero_width_interval():
    ci = bootstrap_ci([0.3] * 10)
    assert ci.estimate == ci.low == ci.high == pytest.approx(0.3) and ci.n == 10


def test_interval_matches_the_normal_approximation_for_a_large_sample():
    x = np.random.default_rng(0).normal(2.0, 1.0, 400)
    ci = bootstrap_ci(x)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert ci.estimate == pytest.approx(x.mean())
    assert ci.low == pytest.approx(x.mean() - half, abs=0.02) and ci.high == pytest.approx(x.mean() + half, abs=0.02)


def test_coverage_is_near_the_nominal_level():
    rng = np.random.default_rng(1)
    covered = []
    for i in range(200):
        ci = bootstrap_ci(rng.normal(0.0, 1.0, 16), n_boot=1000, seed=i)
        covered.append(ci.low <= 0.0 <= ci.high)
    assert 0.85 <= np.mean(covered) <= 0.99  # percentile bootstrap is a little narrow at n=16


def test_pairing_cancels_shared_seed_variation():
    rng = np.random.default_rng(2)
    seed_effect = rng.normal(0, 5.0, 16)  # large between-seed spread shared by both arms
    control = seed_effect + rng.normal(0, 0.1, 16)
    treated = seed_effect + 0.5 + rng.normal(0, 0.1, 16)
    paired = paired_difference(treated, control)
    unpaired_width = bootstrap_ci(treated).high - bootstrap_ci(treated).low
    assert paired.excludes_zero and paired.low > 0.3 and paired.high < 0.7
    assert paired.high - paired.low < 0.1 * unpaired_width


def test_median_statistic_and_single_value():
    assert bootstrap_ci([1, 2, 100], statistic="median").estimate == 2
    one = bootstrap_ci([4.0])
    assert one.estimate == 4.0 and np.isnan(one.low) and np.isnan(one.high) and not one.excludes_zero


@pytest.mark.parametrize("kwargs, match", [
    (dict(values=[1.0, float("nan")]), "NaN"),
    (dict(values=[]), "empty"),
    (dict(values=[1, 2], statistic="mode"), "statistic"),
    (dict(values=[1, 2], level=1.5), "level"),
    (dict(values=[1, 2], n_boot=5), "n_boot"),
])
def test_bad_input_names_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_ci(**kwargs)


def test_paired_difference_needs_equal_lengths():
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1, 2, 3], [1, 2])


def test_summarize_gives_a_row_per_group():
    table = pd.DataFrame({"variant": ["a"] * 5 + ["b"] * 5, "value": [1, 1, 1, 1, 1, 2, 3, 4, 5, 6]})
    out = summarize_ci(table, "variant")
    assert list(out.variant) == ["a", "b"] and list(out.n) == [5, 5]
    assert out.set_index("variant").loc["a", "low"] == 1 and out.set_index("variant").loc["b", "estimate"] == 4
    with pytest.raises(ValueError, match="no column"):
        summarize_ci(table, "strategy")


def test_paired_table_ranks_arms_and_pairs_them_with_the_baseline():
    """Known answer: arm "b" is "none" + 1 on every seed (big seed-to-seed spread), so its paired
    difference is exactly 1 with a zero-width interval while its unpaired interval is wide."""
    import pandas as pd

    from fpkit.metrics import paired_table

    rng = np.random.default_rng(0)
    base = rng.normal(0, 5, 16)
    rows = [{"image": i, "num_sections": 3, "method": m, "drift": v}
            for i in range(16) for m, v in (("none", base[i]), ("b", base[i] + 1), ("c", base[i] - 0.5))]
    out = paired_table(pd.DataFrame(rows), "drift")
    assert list(out["method"]) == ["c", "none", "b"]  # lower drift first
    b = out[out.method == "b"].iloc[0]
    assert b["diff"] == pytest.approx(1.0) and b["diff_low"] == pytest.approx(1.0) and b["clear"]
    assert b["high"] - b["low"] > 2  # unpaired: the seed spread dominates
    none = out[out.method == "none"].iloc[0]
    assert none["diff"] == 0 and not none["clear"] and none["n"] == 16
    with pytest.raises(ValueError, match="baseline 'zzz' is not a value of 'method'"):
        paired_table(pd.DataFrame(rows), "drift", baseline="zzz")


def test_report_leads_a_method_comparison_with_paired_intervals():
    from fpkit.report import comparison_lines

    rng = np.random.default_rng(1)
    base = rng.normal(0.3, 0.05, 16)
    rows = [{"image": f"w{i}", "seed": 0, "num_sections": n, "method": m, "world_drift_hist": v * n / 3}
            for n in (3, 24) for i in range(16) for m, v in (("none", base[i]), ("latent_stats", base[i] - 0.1))]
    lines = "\n".join(comparison_lines(pd.DataFrame(rows)))
    assert "## Which method drifts least? (means over 16 paired inputs" in lines and "against 'none'" in lines
    block = lines.split("### colour drift")[1]
    assert block.index("|              3 |") < block.index("|             24 |")  # grouped by length
    assert "latent_stats" in block and "-0.1 [-0.1, -0.1]" in block and "yes" in block
    assert comparison_lines(pd.DataFrame(rows).query("method == 'none'")) == []  # nothing to compare
