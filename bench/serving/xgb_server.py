#!/usr/bin/python3
"""The Python peer of sdflow-serve in the benchmark: the same model served
with python3-xgboost behind FastAPI and uvicorn, KServe V1 predict only
(what KServe's own xgbserver does for V1: Booster.predict on a DMatrix).

    /usr/bin/python3 xgb_server.py MODEL.json PORT
"""
import sys

import numpy as np
import uvicorn
import xgboost as xgb
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

booster = xgb.Booster(model_file=sys.argv[1])
booster.set_param({"nthread": 1})
app = FastAPI()


@app.post("/v1/models/{name}:predict")
async def predict(name: str, request: Request):
    body = await request.json()
    x = np.array(body["instances"], dtype=np.float32)
    return JSONResponse({"predictions": booster.predict(xgb.DMatrix(x)).tolist()})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
