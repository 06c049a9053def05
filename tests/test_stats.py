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
