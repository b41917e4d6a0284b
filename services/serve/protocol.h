/* protocol.h: KServe V1 and Open Inference Protocol (V2) request and
 * response bodies for a model that takes one dense FP32 matrix, with no I/O.
 *
 *   V1 request:  {"instances": [[f, ...], ...]}          (or "inputs")
 *   V1 response: {"predictions": [...]}
 *   V2 request:  {"id": "...", "inputs": [{"name": "...", "shape": [n, f],
 *                 "datatype": "FP32|FP64|INT32|INT64", "data": [...]}],
 *                 "outputs": [{"name": "output-0"}]}
 *   V2 response: {"model_name": "...", "id": "...", "outputs": [{"name":
 *                 "output-0", "shape": [...], "datatype": "FP32", "data": [...]}]}
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#define PROTOCOL_MAX_VALUES (16u << 20) /* floats in one request */
#define PROTOCOL_OUTPUT_NAME "output-0"

typedef struct Matrix {
        float *data; /* rows * cols, row-major; malloc'd */
        size_t rows, cols;
} Matrix;

void matrix_done(Matrix *m);

/* Parses a V1 request body into a matrix of rows x cols (cols must equal
 * want_cols).  Returns 0, or -EINVAL with a message in err. */
int protocol_v1_parse(const char *body, size_t len, size_t want_cols, Matrix *ret, char *err, size_t errsz);

/* Parses a V2 inference request.  *id gets the request id (malloc'd, may be
 * NULL).  Returns 0 or -EINVAL with a message in err. */
int protocol_v2_parse(const char *body, size_t len, size_t want_cols, Matrix *ret, char **id, char *err,
                      size_t errsz);

/* Serialises predictions (shape dims[0..ndim), values flat) as a V1 or V2
 * response body (malloc'd, NUL-terminated; *len set). */
char *protocol_v1_response(const float *values, const size_t *dims, size_t ndim, size_t *len);
char *protocol_v2_response(const char *model, const char *id, const float *values, const size_t *dims, size_t ndim,
                           size_t *len);

/* {"error": msg} */
char *protocol_error(const char *msg, size_t *len);
