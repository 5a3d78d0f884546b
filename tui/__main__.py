"""`python -m mlflow_tui`: the same as the console script `mlflow-tui`.

The folder tui/ is installed as the package `mlflow_tui` (pyproject.toml's package-dir). From a
source checkout, `python -m tui` would import this folder under a second name and then run
whichever `mlflow_tui` is installed: it stops with a pointer to the real command instead.
"""

import sys

if __package__ != "mlflow_tui":
    print(f"mlflow-tui: the package is mlflow_tui, not {__package__}: run "
          "`python -m mlflow_tui` (or `mlflow-tui`)", file=sys.stderr)
    raise SystemExit(2)

from mlflow_tui.cli import main  # noqa: E402 - after the check above

raise SystemExit(main())
