"""A real, small training that logs to MLflow: an MLP on scikit-learn's digits data set.

Logs train_loss and val_loss (log loss) and val_acc each epoch, like a training script would.
Used by the integration tests and benchmarks as a real workload:

    MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python bench/train_digits.py -e demo/digits \
        --epochs 30 --sleep 0.5
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-e", "--experiment", default="digits/mlp")
    parser.add_argument("--run-name", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds to wait per epoch")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--train-size", type=int, default=300, help="small: overfits sooner")
    parser.add_argument("--fail-at", type=int, default=None, help="raise at this epoch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import mlflow
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, train_size=args.train_size, random_state=args.seed, stratify=y)
    classes = np.unique(y)
    model = MLPClassifier(hidden_layer_sizes=(args.hidden,), alpha=0.0, learning_rate_init=0.01,
                          random_state=args.seed)
    mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name=args.run_name) as run:
        print(run.info.run_id, flush=True)
        mlflow.log_params({"hidden": args.hidden, "train_size": args.train_size,
                           "epochs": args.epochs, "lr": 0.01})
        for epoch in range(args.epochs):
            if args.fail_at is not None and epoch == args.fail_at:
                raise RuntimeError("simulated crash")
            model.partial_fit(x_train, y_train, classes=classes)
            train_loss = log_loss(y_train, model.predict_proba(x_train), labels=classes)
            val_proba = model.predict_proba(x_val)
            mlflow.log_metrics({
                "train_loss": float(train_loss),
                "val_loss": float(log_loss(y_val, val_proba, labels=classes)),
                "val_acc": float(accuracy_score(y_val, val_proba.argmax(axis=1))),
            }, step=epoch)
            if args.sleep:
                time.sleep(args.sleep)


if __name__ == "__main__":
    main()
