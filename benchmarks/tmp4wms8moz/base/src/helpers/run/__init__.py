"""The runner (plan, execute with papermill, render, record, publish) and the ``segreview`` command."""
