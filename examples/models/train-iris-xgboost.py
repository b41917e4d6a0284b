#!/usr/bin/python3
"""Train an XGBoost classifier on the iris data that python3-sklearn ships,
and save it as an XGBoost JSON model, the way KServe's xgboost-iris sample
model was made.  Nothing is downloaded.

    /usr/bin/python3 examples/models/train-iris-xgboost.py OUT_DIR

writes OUT_DIR/model.json, and OUT_DIR/expected.json: the first 5 iris rows
and the predictions python3-xgboost makes for them (Booster.predict), which
sdflow-serve must reproduce.
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_iris

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
X, y = load_iris(return_X_y=True)
booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "eta": 0.3,
                     "seed": 1, "nthread": 1}, xgb.DMatrix(X, label=y), num_boost_round=20)
path = os.path.join(out, "model.json")
booster.save_model(path)
rows = X[:5].tolist() + X[-5:].tolist()
pred = xgb.Booster(model_file=path).predict(xgb.DMatrix(np.array(rows, dtype=np.float32)))
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump({"instances": rows, "predictions": pred.tolist()}, f)
print(path)
