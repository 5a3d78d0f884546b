"""`mlflow-tui watch`: the monitor's judgements as events (runs started, ended, warnings raised
and cleared), delivered to stdout, a command or a webhook. No UI toolkit anywhere here."""
