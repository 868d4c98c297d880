"""The runner and the ``segreview`` command.

- :mod:`helpers.run.plan`     parameters, steps, notebooks and their parameters check (nothing runs)
- :mod:`helpers.run.execute`  kernels, papermill, notebooks side by side across quarters, progress
- :mod:`helpers.run.record`   ``run.json``
- :mod:`helpers.run.publish`  the run folder, its pages, the atomic publication, ``reports/index.html``
- :mod:`helpers.run.runner`   ``run()``: plan, execute, record, publish one quarter (and several: backfill)
- :mod:`helpers.run.check`    ``segreview check``: parameters, notebooks and inputs, no notebook executed
- :mod:`helpers.run.backfill` ``segreview backfill``: a range of quarters from one export
- :mod:`helpers.run.quarters` the quarter that closed most recently, ranges of quarters
- :mod:`helpers.run.interrupt` SIGTERM as an exception (:class:`~helpers.run.interrupt.Interrupted`)
- :mod:`helpers.run.kernelside` code the runner executes inside its kernels
- :mod:`helpers.run.render`   HTML pages of executed notebooks, the index of rendered quarters
- :mod:`helpers.run.cli`      the command line
"""
