"""One native thread for the kit's small models.

scikit-learn's gradient-boosted trees fit and predict on an OpenMP thread pool. On the kit's
sizes (5,000 training rows, one request's rows) the pool costs far more than it gives, and on a
busy 2-core laptop its spinning threads fight every other process: the challenger's fit took
1.2-8.3 s with the pool and 0.08 s on one thread, with identical predictions (measured on the kit's 2-core machines).
"""

from __future__ import annotations

from contextlib import contextmanager

ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1"}
"""For a process that serves one request at a time (the endpoint's model workers). PySpark
already sets ``OMP_NUM_THREADS`` to ``spark.task.cpus`` for its Python workers."""


@contextmanager
def one_thread():
    """Limit OpenMP and BLAS pools to one thread inside the block (threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
