/* model.c: see model.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <xgboost/c_api.h>

#include "macro.h"
#include "model.h"

struct Model {
        BoosterHandle booster;
        size_t features;
};

static int xgb_fail(char *err, size_t errsz, const char *what) {
        snprintf(err, errsz, "%s: %s", what, XGBGetLastError());
        return -EIO;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Model *, model_free);

int model_load(const char *path, Model **ret, char *err, size_t errsz) {
        _cleanup_(model_freep) Model *m = calloc(1, sizeof *m);
        bst_ulong nf = 0;
        if (!m)
                return -ENOMEM;
        /* (xgb_fail() reads XGBoost's last error before the cleanup frees the booster) */
        if (XGBoosterCreate(NULL, 0, &m->booster) != 0)
                return xgb_fail(err, errsz, "creating the booster");
        if (XGBoosterLoadModel(m->booster, path) != 0)
                return xgb_fail(err, errsz, "loading the model");
        if (XGBoosterSetParam(m->booster, "nthread", "1") != 0 || XGBoosterGetNumFeature(m->booster, &nf) != 0)
                return xgb_fail(err, errsz, "reading the model");
        if (nf == 0) {
                snprintf(err, errsz, "the model has no features");
                return -EINVAL;
        }
        m->features = (size_t) nf;
        *ret = TAKE_PTR(m);
        return 0;
}

Model *model_free(Model *m) {
        if (!m)
                return NULL;
        if (m->booster)
                XGBoosterFree(m->booster);
        free(m);
        return NULL;
}

size_t model_num_features(const Model *m) {
        return m->features;
}

int model_predict(Model *m, const float *x, size_t rows, size_t cols, const float **out, size_t dims[4],
                  size_t *ndim, char *err, size_t errsz) {
        char array[256];
        const bst_ulong *shape;
        bst_ulong nd;
        /* An __array_interface__ over the caller's buffer: no copy. */
        snprintf(array, sizeof array,
                 "{\"data\": [%llu, true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", \"version\": 3}",
                 (unsigned long long) (uintptr_t) x, rows, cols);
        static const char config[] = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                                     "\"iteration_end\": 0, \"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}";
        if (XGBoosterPredictFromDense(m->booster, array, config, NULL, &shape, &nd, out) != 0)
                return xgb_fail(err, errsz, "predicting");
        if (nd == 0 || nd > 4) {
                snprintf(err, errsz, "unexpected prediction shape of %llu dimensions", (unsigned long long) nd);
                return -EIO;
        }
        for (bst_ulong i = 0; i < nd; i++)
                dims[i] = (size_t) shape[i];
        *ndim = (size_t) nd;
        return 0;
}
