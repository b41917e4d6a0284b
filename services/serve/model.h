/* model.h: an XGBoost model, through libxgboost's C API. */
#pragma once

#include <stddef.h>

typedef struct Model Model;

/* Loads an XGBoost model (JSON, UBJ or the old binary format) from path.
 * Predictions use one thread: a replica serves one request at a time and
 * sdflow scales with replicas.  Returns 0 or a negative errno with
 * XGBoost's message in err. */
int model_load(const char *path, Model **ret, char *err, size_t errsz);
Model *model_free(Model *m);

size_t model_num_features(const Model *m);

/* Predicts rows x cols (cols = model_num_features) values.  On success
 * *out points to dims[0] * ... * dims[*ndim - 1] floats owned by the model
 * (valid until the next call).  Returns 0 or -EIO with a message in err. */
int model_predict(Model *m, const float *x, size_t rows, size_t cols, const float **out, size_t dims[4],
                  size_t *ndim, char *err, size_t errsz);
