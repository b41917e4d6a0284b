/* test-protocol.c: KServe V1 and Open Inference Protocol V2 bodies. */
#include <errno.h>

#include "protocol.h"
#include "test.h"

static int v1(const char *body, Matrix *m, char *err) {
        return protocol_v1_parse(body, strlen(body), 4, m, err, 256);
}

static int v2(const char *body, Matrix *m, char **id, char *err) {
        return protocol_v2_parse(body, strlen(body), 4, m, id, err, 256);
}

static void test_v1(void) {
        Matrix m;
        char err[256];
        CHECK_EQ_INT(v1("{\"instances\": [[1, 2, 3, 4], [5.5, 6, 7, 8]]}", &m, err), 0);
        CHECK_EQ_INT(m.rows, 2);
        CHECK_EQ_INT(m.cols, 4);
        CHECK(m.data[4] == 5.5f && m.data[7] == 8.0f);
        matrix_done(&m);
        CHECK_EQ_INT(v1("{\"inputs\": [[1, 2, 3, 4]]}", &m, err), 0);
        matrix_done(&m);

        static const struct {
                const char *body, *msg;
        } bad[] = {
                { "not json", "invalid JSON at line 1" },
                { "[1,2]", "must be a JSON object" },
                { "{}", "expected \"instances\"" },
                { "{\"instances\": []}", "must hold 1 to" },
                { "{\"instances\": [[1, 2, 3]]}", "instances[0] must be a list of 4 numbers" },
                { "{\"instances\": [[1, 2, 3, 4], [1, 2, \"x\", 4]]}", "instances[1][2] must be a number" },
                { "{\"instances\": [5]}", "instances[0] must be a list" },
                { "{\"instances\": [[1,2,3,4]], \"instances\": []}", "duplicate object key" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                err[0] = '\0';
                CHECK_EQ_INT(v1(bad[i].body, &m, err), -EINVAL);
                if (!strstr(err, bad[i].msg))
                        fprintf(stderr, "v1 bad[%zu]: '%s' lacks '%s'\n", i, err, bad[i].msg);
                CHECK(strstr(err, bad[i].msg) != NULL);
                CHECK(m.data == NULL);
        }
}

static void test_v2(void) {
        Matrix m;
        char err[256], *id;
        CHECK_EQ_INT(v2("{\"id\":\"a\",\"inputs\":[{\"name\":\"x\",\"shape\":[2,4],\"datatype\":\"FP32\","
                        "\"data\":[1,2,3,4,5,6,7,8]}]}", &m, &id, err), 0);
        CHECK_EQ_INT(m.rows, 2);
        CHECK_STREQ(id, "a");
        CHECK(m.data[7] == 8.0f);
        matrix_done(&m);
        free(id);
        /* Nested data, one-dimensional shape, INT64. */
        CHECK_EQ_INT(v2("{\"inputs\":[{\"name\":\"x\",\"shape\":[4],\"datatype\":\"INT64\",\"data\":[[1,2],[3,4]]}],"
                        "\"outputs\":[{\"name\":\"output-0\"}]}", &m, &id, err), 0);
        CHECK_EQ_INT(m.rows, 1);
        CHECK(id == NULL);
        matrix_done(&m);

        static const struct {
                const char *body, *msg;
        } bad[] = {
                { "{\"inputs\":[]}", "a list with one tensor" },
                { "{\"id\":5,\"inputs\":[]}", "\"id\" must be a string" },
                { "{\"inputs\":[{\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}", "must be an object with a \"name\"" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"BYTES\",\"data\":[\"a\"]}]}",
                  "inputs[0].datatype 'BYTES' is not supported" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}", "datatype (missing) is not supported" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}",
                  "shape says 3 features, the model takes 4" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4,1],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}",
                  "shape must be [rows, 4]" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[0,4],\"datatype\":\"FP32\",\"data\":[]}]}",
                  "shape[0] must be a positive integer" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}",
                  "holds 4 values, its shape says 8" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4,5]}]}",
                  "more values than its shape says" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"INT32\",\"data\":[1,2,3,4.5]}]}",
                  "data[3] must be an integer for datatype INT32" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"INT32\",\"data\":[1,2,3,9999999999]}]}",
                  "out of range for INT32" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,\"4\"]}]}",
                  "data[3] must be a number" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}],"
                  "\"outputs\":[{\"name\":\"probs\"}]}", "unknown output 'probs'" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":5}]}", "data must be a list" },
                { "{\"inputs\":[{\"name\":\"x\",\"shape\":[99999999999,4],\"datatype\":\"FP32\",\"data\":[]}]}",
                  "shape[0] must be a positive integer" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                err[0] = '\0';
                CHECK_EQ_INT(v2(bad[i].body, &m, &id, err), -EINVAL);
                if (!strstr(err, bad[i].msg))
                        fprintf(stderr, "v2 bad[%zu]: '%s' lacks '%s'\n", i, err, bad[i].msg);
                CHECK(strstr(err, bad[i].msg) != NULL);
                CHECK(m.data == NULL && id == NULL);
        }
}

static void test_responses(void) {
        float v[6] = { 0.5f, 0.25f, 1.0f / 3, 1, 2, 3 };
        size_t dims[2] = { 2, 3 }, len;
        char *s = protocol_v1_response(v, dims, 2, &len);
        CHECK_STREQ(s, "{\"predictions\":[[0.5,0.25,0.333333343],[1,2,3]]}\n");
        CHECK_EQ_INT(len, strlen(s));
        free(s);
        size_t d1[1] = { 2 };
        s = protocol_v1_response(v, d1, 1, &len);
        CHECK_STREQ(s, "{\"predictions\":[0.5,0.25]}\n");
        free(s);
        s = protocol_v2_response("m\"x", "id-1", v, dims, 2, &len);
        CHECK_STREQ(s, "{\"model_name\":\"m\\\"x\",\"id\":\"id-1\",\"outputs\":[{\"name\":\"output-0\",\"shape\":[2,3],"
                       "\"datatype\":\"FP32\",\"data\":[0.5,0.25,0.333333343,1,2,3]}]}\n");
        free(s);
        s = protocol_error("bad \"thing\"", &len);
        CHECK_STREQ(s, "{\"error\":\"bad \\\"thing\\\"\"}\n");
        free(s);
}

int main(void) {
        test_v1();
        test_v2();
        test_responses();
        return test_summary("test-protocol");
}
