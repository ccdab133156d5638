"""``mle run``: the launch pipeline, runner loop, job table, lock, history and progress."""
