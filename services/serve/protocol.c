/* protocol.c: see protocol.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h" /* header only: this library links nothing of lib/ */
#include "protocol.h"

void matrix_done(Matrix *m) {
        free(m->data);
        *m = (Matrix) {};
}

static int fail(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errsz, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static json_t *load(const char *body, size_t len, char *err, size_t errsz) {
        json_error_t je;
        json_auto_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (!j)
                fail(err, errsz, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        else if (!json_is_object(j)) {
                fail(err, errsz, "the request body must be a JSON object");
                return NULL;
        }
        return TAKE_PTR(j);
}

int protocol_v1_parse(const char *body, size_t len, size_t want_cols, Matrix *ret, char *err, size_t errsz) {
        json_auto_t *j = load(body, len, err, errsz);
        json_t *inst;
        size_t rows, i;
        json_t *row;

        *ret = (Matrix) {};
        if (!j)
                return -EINVAL;
        inst = json_object_get(j, "instances");
        if (!inst)
                inst = json_object_get(j, "inputs");
        if (!json_is_array(inst))
                return fail(err, errsz, "expected \"instances\": a list of rows of %zu numbers", want_cols);
        rows = json_array_size(inst);
        if (rows == 0 || rows > PROTOCOL_MAX_VALUES / (want_cols ?: 1))
                return fail(err, errsz, "\"instances\" must hold 1 to %zu rows", PROTOCOL_MAX_VALUES / (want_cols ?: 1));
        _cleanup_free_ float *data = malloc(rows * want_cols * sizeof(float));
        if (!data)
                return -ENOMEM;
        json_array_foreach(inst, i, row) {
                size_t k;
                json_t *v;
                if (!json_is_array(row) || json_array_size(row) != want_cols)
                        return fail(err, errsz, "instances[%zu] must be a list of %zu numbers (the model's features)",
                                    i, want_cols);
                json_array_foreach(row, k, v) {
                        if (!json_is_number(v))
                                return fail(err, errsz, "instances[%zu][%zu] must be a number", i, k);
                        data[i * want_cols + k] = (float) json_number_value(v);
                }
        }
        *ret = (Matrix) { .data = TAKE_PTR(data), .rows = rows, .cols = want_cols };
        return 0;
}

typedef enum Dtype { DT_FP32, DT_FP64, DT_INT32, DT_INT64, DT_INVALID } Dtype;

static Dtype dtype_of(const char *s) {
        if (!s)
                return DT_INVALID;
        if (!strcmp(s, "FP32"))
                return DT_FP32;
        if (!strcmp(s, "FP64"))
                return DT_FP64;
        if (!strcmp(s, "INT32"))
                return DT_INT32;
        if (!strcmp(s, "INT64"))
                return DT_INT64;
        return DT_INVALID;
}

/* Appends the numbers of a (nested) list to out, checking each against dt. */
static int flatten(json_t *v, Dtype dt, float *out, size_t cap, size_t *n, unsigned depth, char *err, size_t errsz) {
        if (depth > 8)
                return fail(err, errsz, "inputs[0].data is nested too deeply");
        if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                        int r = flatten(e, dt, out, cap, n, depth + 1, err, errsz);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (*n >= cap)
                return fail(err, errsz, "inputs[0].data holds more values than its shape says (%zu)", cap);
        switch (dt) {
        case DT_INT32:
        case DT_INT64:
                if (!json_is_integer(v))
                        return fail(err, errsz, "inputs[0].data[%zu] must be an integer for datatype %s", *n,
                                    dt == DT_INT32 ? "INT32" : "INT64");
                if (dt == DT_INT32 && (json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX))
                        return fail(err, errsz, "inputs[0].data[%zu] is out of range for INT32", *n);
                out[(*n)++] = (float) json_integer_value(v);
                return 0;
        default:
                if (!json_is_number(v))
                        return fail(err, errsz, "inputs[0].data[%zu] must be a number", *n);
                out[(*n)++] = (float) json_number_value(v);
                return 0;
        }
}

int protocol_v2_parse(const char *body, size_t len, size_t want_cols, Matrix *ret, char **id, char *err,
                      size_t errsz) {
        json_auto_t *j = load(body, len, err, errsz);
        json_t *inputs, *in, *shape, *outputs;
        size_t dims[2], nd, total = 1;
        int r;

        *ret = (Matrix) {};
        *id = NULL;
        if (!j)
                return -EINVAL;
        if (json_object_get(j, "id") && !json_is_string(json_object_get(j, "id")))
                return fail(err, errsz, "\"id\" must be a string");
        inputs = json_object_get(j, "inputs");
        if (!json_is_array(inputs) || json_array_size(inputs) != 1)
                return fail(err, errsz, "expected \"inputs\": a list with one tensor (this model takes one input)");
        in = json_array_get(inputs, 0);
        if (!json_is_object(in) || !json_is_string(json_object_get(in, "name")))
                return fail(err, errsz, "inputs[0] must be an object with a \"name\"");
        const char *dts = json_string_value(json_object_get(in, "datatype"));
        Dtype dt = dtype_of(dts);
        if (dt == DT_INVALID) /* (j, which dts points into, goes after the message is written) */
                return fail(err, errsz, "inputs[0].datatype %s%s%s is not supported (use FP32, FP64, INT32 or INT64)",
                            dts ? "'" : "", dts ?: "(missing)", dts ? "'" : "");
        shape = json_object_get(in, "shape");
        nd = json_array_size(shape);
        if (!json_is_array(shape) || nd < 1 || nd > 2)
                return fail(err, errsz, "inputs[0].shape must be [rows, %zu] or [%zu]", want_cols, want_cols);
        for (size_t i = 0; i < nd; i++) {
                json_t *d = json_array_get(shape, i);
                if (!json_is_integer(d) || json_integer_value(d) <= 0 ||
                    (json_int_t) (PROTOCOL_MAX_VALUES) < json_integer_value(d))
                        return fail(err, errsz, "inputs[0].shape[%zu] must be a positive integer", i);
                dims[i] = (size_t) json_integer_value(d);
                total *= dims[i];
                if (total > PROTOCOL_MAX_VALUES)
                        return fail(err, errsz, "inputs[0] has more than %u values", PROTOCOL_MAX_VALUES);
        }
        size_t rows = nd == 2 ? dims[0] : 1, cols = nd == 2 ? dims[1] : dims[0];
        if (cols != want_cols)
                return fail(err, errsz, "inputs[0].shape says %zu features, the model takes %zu", cols, want_cols);
        outputs = json_object_get(j, "outputs");
        if (outputs) {
                size_t i;
                json_t *o;
                if (!json_is_array(outputs))
                        return fail(err, errsz, "\"outputs\" must be a list");
                json_array_foreach(outputs, i, o) {
                        const char *name = json_string_value(json_object_get(o, "name"));
                        if (!name || strcmp(name, PROTOCOL_OUTPUT_NAME) != 0) /* (name points into j, as dts) */
                                return fail(err, errsz, "outputs[%zu]: unknown output %s%s%s (the model has \"%s\")",
                                            i, name ? "'" : "", name ?: "without a name", name ? "'" : "",
                                            PROTOCOL_OUTPUT_NAME);
                }
        }
        json_t *data = json_object_get(in, "data");
        if (!json_is_array(data))
                return fail(err, errsz, "inputs[0].data must be a list");
        _cleanup_free_ float *values = malloc(total * sizeof(float));
        if (!values)
                return -ENOMEM;
        size_t n = 0;
        r = flatten(data, dt, values, total, &n, 0, err, errsz);
        if (r < 0)
                return r;
        if (n != total)
                return fail(err, errsz, "inputs[0].data holds %zu values, its shape says %zu", n, total);
        _cleanup_free_ char *request_id = NULL;
        if (json_is_string(json_object_get(j, "id"))) {
                /* Without it, the answer would not say which request it is for. */
                request_id = strdup(json_string_value(json_object_get(j, "id")));
                if (!request_id)
                        return -ENOMEM;
        }
        *ret = (Matrix) { .data = TAKE_PTR(values), .rows = rows, .cols = cols };
        *id = TAKE_PTR(request_id);
        return 0;
}

/* A growable output buffer with a fast float formatter. */
typedef struct Out {
        char *p;
        size_t len, size;
        bool oom;
} Out;

static void out_reserve(Out *o, size_t n) {
        if (o->oom || o->len + n + 1 <= o->size)
                return;
        size_t ns = o->size ? o->size * 2 : 4096;
        while (ns < o->len + n + 1)
                ns *= 2;
        char *q = realloc(o->p, ns);
        if (!q) {
                o->oom = true;
                return;
        }
        o->p = q;
        o->size = ns;
}

static void out_str(Out *o, const char *s) {
        size_t n = strlen(s);
        out_reserve(o, n);
        if (o->oom)
                return;
        memcpy(o->p + o->len, s, n + 1);
        o->len += n;
}

static void out_float(Out *o, float f) {
        out_reserve(o, 32);
        if (o->oom)
                return;
        if (!isfinite(f)) /* JSON has no NaN or infinity */
                o->len += (size_t) snprintf(o->p + o->len, 32, "null");
        else
                /* 9 significant digits round-trip any float exactly. */
                o->len += (size_t) snprintf(o->p + o->len, 32, "%.9g", (double) f);
}

static void out_json_string(Out *o, const char *s) {
        json_auto_t *t = json_string(s);
        _cleanup_free_ char *e = t ? json_dumps(t, JSON_ENCODE_ANY) : NULL;
        out_str(o, e ?: "\"\"");
}

static void out_values(Out *o, const float *v, const size_t *dims, size_t ndim, bool nested) {
        size_t n = 1;
        for (size_t i = 0; i < ndim; i++)
                n *= dims[i];
        size_t inner = ndim >= 2 && nested ? dims[ndim - 1] : n;
        out_str(o, "[");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        out_str(o, ",");
                if (inner != n && i % inner == 0)
                        out_str(o, "[");
                out_float(o, v[i]);
                if (inner != n && i % inner == inner - 1)
                        out_str(o, "]");
        }
        out_str(o, "]");
}

static char *out_take(Out *o, size_t *len) {
        if (o->oom) {
                free(o->p);
                return NULL;
        }
        *len = o->len;
        return o->p;
}

char *protocol_v1_response(const float *values, const size_t *dims, size_t ndim, size_t *len) {
        Out o = {};
        out_str(&o, "{\"predictions\":");
        out_values(&o, values, dims, ndim, true);
        out_str(&o, "}\n");
        return out_take(&o, len);
}

char *protocol_v2_response(const char *model, const char *id, const float *values, const size_t *dims, size_t ndim,
                           size_t *len) {
        Out o = {};
        char num[32];
        out_str(&o, "{\"model_name\":");
        out_json_string(&o, model);
        if (id) {
                out_str(&o, ",\"id\":");
                out_json_string(&o, id);
        }
        out_str(&o, ",\"outputs\":[{\"name\":\"" PROTOCOL_OUTPUT_NAME "\",\"shape\":[");
        for (size_t i = 0; i < ndim; i++) {
                snprintf(num, sizeof num, "%s%zu", i ? "," : "", dims[i]);
                out_str(&o, num);
        }
        out_str(&o, "],\"datatype\":\"FP32\",\"data\":");
        out_values(&o, values, dims, ndim, false);
        out_str(&o, "}]}\n");
        return out_take(&o, len);
}

char *protocol_error(const char *msg, size_t *len) {
        Out o = {};
        out_str(&o, "{\"error\":");
        out_json_string(&o, msg);
        out_str(&o, "}\n");
        return out_take(&o, len);
}
