"""The test helpers of tests/numerics.py: "the same numbers" accepts rounding and nothing else."""
import numpy as np
import pytest

from numerics import TOL, assert_identical, assert_same_numbers, rel_err, strided_view, transposed_copy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rounding_passes_and_a_real_difference_fails(dtype):
    x = np.random.default_rng(0).standard_normal((4, 64)).astype(dtype)
    w = np.random.default_rng(1).standard_normal((64, 8)).astype(dtype)
    a = x @ w
    b = np.einsum("ik,kj->ij", x, w)                    # the same sums in another order
    assert_same_numbers(a, b)
    off = b.copy()
    off[2, 3] += 10 * TOL[np.dtype(dtype)] * np.abs(b).max()
    with pytest.raises(AssertionError, match="relative error"):
        assert_same_numbers(a, off)


def test_nan_and_inf_must_sit_in_the_same_places():
    assert_same_numbers(np.array([1.0, np.nan, np.inf]), np.array([1.0, np.nan, np.inf]))
    with pytest.raises(AssertionError, match="NaN"):
        assert_same_numbers(np.array([1.0, 0.0]), np.array([1.0, np.nan]))
    with pytest.raises(AssertionError):
        assert_same_numbers(np.array([1.0, -np.inf]), np.array([1.0, np.inf]))
    with pytest.raises(AssertionError, match="shapes"):
        rel_err(np.zeros(3), np.zeros(4))


def test_integers_compare_exactly_and_identical_needs_a_reason():
    assert_same_numbers(np.array([1, 2]), np.array([1, 2]))
    with pytest.raises(AssertionError):
        assert_same_numbers(np.array([1, 2]), np.array([1, 3]))
    with pytest.raises(AssertionError, match="say why"):
        assert_identical(np.zeros(2), np.zeros(2), why="")
    with pytest.raises(AssertionError, match="dtypes"):
        assert_identical(np.zeros(2, np.float32), np.zeros(2), why="a copy")
    with pytest.raises(AssertionError, match="bit-identical: a copy"):
        assert_identical(np.array([1.0]), np.array([np.nextafter(1.0, 2.0)]), why="a copy")


def test_layout_helpers_keep_values_and_change_layout():
    a = np.arange(12.0).reshape(3, 4)
    f, s = transposed_copy(a), strided_view(a)
    assert f.flags.f_contiguous and not f.flags.c_contiguous
    assert not s.flags.c_contiguous and not s.flags.f_contiguous
    assert np.array_equal(f, a) and np.array_equal(s, a)
