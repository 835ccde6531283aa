"""Rescuing the data of a live Compose deployment: `holdfast plan`, `holdfast apply`, `fix --apply`.

This package is the only part of holdfast that talks to a Docker engine, and the
only one that imports the `docker` SDK (lazily, in `holdfast.apply.host`), so
`holdfast lint` in a pre-commit hook never pays for it.

The flow: `planner` turns lint findings (HF101/HF102/HF105) plus what the engine
says about the running containers into a `plan.Plan` (a JSON file pinned to the
compose files' sha256 and the container ids). `executor` runs the plan's steps
(`steps`) with a fsynced journal (`journal`) so that a re-run resumes and
`--rollback` returns to the state before. See `holdfast.apply.cli` for the exit
codes.
"""

EXIT_DONE = 0  # done, or nothing to do (already migrated)
EXIT_FAILED = 1  # a step failed: stopped safely (or rolled back), with advice printed
EXIT_USAGE = 2  # usage error, invalid or stale plan
EXIT_REFUSED = 3  # refused by a pre-check before anything was changed
