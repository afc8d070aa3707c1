"""HiGHS for the assignment: one instance from plain arrays, a quiet banner, a deadline."""

from __future__ import annotations

import os
import sys
import time

import highspy
import numpy as np

from corridor.errors import TimeLimitError

_BANNER_SHOWN = False


def highs_from_arrays(arrays: dict[str, np.ndarray]) -> highspy.Highs:
    """Build a HiGHS instance from :meth:`FlowModel.arrays` with one ``passModel`` call."""
    h = new_highs()
    lp = highspy.HighsLp()
    lp.num_col_ = len(arrays["cost"])
    lp.num_row_ = len(arrays["row_lower"])
    inf = highspy.kHighsInf
    lp.col_cost_ = arrays["cost"]
    lp.col_lower_ = arrays["lower"]
    lp.col_upper_ = np.where(np.isinf(arrays["upper"]), inf, arrays["upper"])
    lp.row_lower_ = np.where(np.isinf(arrays["row_lower"]), -inf, arrays["row_lower"])
    lp.row_upper_ = np.where(np.isinf(arrays["row_upper"]), inf, arrays["row_upper"])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = arrays["indptr"].astype(np.int32)
    lp.a_matrix_.index_ = arrays["indices"].astype(np.int32)
    lp.a_matrix_.value_ = arrays["data"].astype(float)
    h.passModel(lp)
    return h


def new_highs() -> highspy.Highs:
    """A quiet HiGHS instance.

    HiGHS prints a copyright banner to file descriptor 1 when the first instance of a process is
    built, before any option can be set; it would corrupt ``--json`` output, so that first
    construction runs with stdout pointed at /dev/null.
    """
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


def solve_model(h: highspy.Highs, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run HiGHS and return (column values, row duals).

    Parameters
    ----------
    h
        A HiGHS instance holding the LP.
    deadline
        A :func:`time.monotonic` instant by which the solve must end (None: no limit).

    Raises
    ------
    TimeLimitError
        The deadline passed before or during the solve.
    RuntimeError
        If HiGHS does not reach an optimum otherwise (the LP is always feasible by
        construction, so this signals a numerical failure).
    """
    if deadline is None:
        h.setOptionValue("time_limit", highspy.kHighsInf)
    else:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeLimitError("the assignment did not finish within its time budget")
        # HiGHS holds its time limit against the instance's run time over every solve so far
        h.setOptionValue("time_limit", float(h.getRunTime() + remaining))
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kTimeLimit:
        raise TimeLimitError("the assignment did not finish within its time budget")
    if status != highspy.HighsModelStatus.kOptimal and h.getNumCol() > 0:
        raise RuntimeError(f"HiGHS did not solve the assignment: {h.modelStatusToString(status)}")
    solution = h.getSolution()
    return np.asarray(solution.col_value, dtype=float), np.asarray(solution.row_dual, dtype=float)
