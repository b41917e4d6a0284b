#!/usr/bin/python3
"""Train the model of KServe's sklearn-iris sample (an SVC on the iris data
that python3-sklearn ships) and save it with joblib, as KServe's sklearn
server expects.  Nothing is downloaded.

    /usr/bin/python3 examples/models/train-iris-sklearn.py OUT_DIR

writes OUT_DIR/model.joblib, and OUT_DIR/expected.json: KServe's sample
input and the classes scikit-learn predicts for it.
"""
import json
import os
import sys

import joblib
from sklearn import datasets, svm

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
X, y = datasets.load_iris(return_X_y=True)
clf = svm.SVC(gamma="scale")
clf.fit(X, y)
joblib.dump(clf, os.path.join(out, "model.joblib"))
rows = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump({"instances": rows, "predictions": clf.predict(rows).tolist()}, f)
