"""mlflow-tui: watch MLflow training runs live in the terminal."""

__version__ = "0.1.0"
