/* test-yamljson.c: YAML 1.2 core scalars, documents, aliases, limits, and emitting. */
#include <errno.h>

#include "test.h"
#include "yamljson.h"

static json_t *parse1(const char *text) {
        char err[256];
        json_t *docs = NULL;
        if (yamljson_parse(text, strlen(text), &docs, err, sizeof err) < 0) {
                fprintf(stderr, "parse failed: %s\n", err);
                return NULL;
        }
        json_t *d = json_incref(json_array_get(docs, 0));
        json_decref(docs);
        return d;
}

static void test_scalars(void) {
        json_t *v = parse1("a: 1\nb: -2\nc: 1.5\nd: true\ne: False\nf: ~\ng:\nh: \"1\"\ni: on\nj: yes\n"
                           "k: 0x1f\nl: 0o17\nm: 1e3\nn: !!str 12\no: '007'\np: 1.0.0\nq: 500m\n");
        CHECK(v != NULL);
        CHECK(json_integer_value(json_object_get(v, "a")) == 1);
        CHECK(json_integer_value(json_object_get(v, "b")) == -2);
        CHECK(json_real_value(json_object_get(v, "c")) == 1.5);
        CHECK(json_is_true(json_object_get(v, "d")));
        CHECK(json_is_false(json_object_get(v, "e")));
        CHECK(json_is_null(json_object_get(v, "f")));
        CHECK(json_is_null(json_object_get(v, "g")));
        CHECK_STREQ(json_string_value(json_object_get(v, "h")), "1");
        CHECK_STREQ(json_string_value(json_object_get(v, "i")), "on"); /* YAML 1.2: not a boolean */
        CHECK_STREQ(json_string_value(json_object_get(v, "j")), "yes");
        CHECK(json_integer_value(json_object_get(v, "k")) == 31);
        CHECK(json_integer_value(json_object_get(v, "l")) == 15);
        CHECK(json_real_value(json_object_get(v, "m")) == 1000.0);
        CHECK_STREQ(json_string_value(json_object_get(v, "n")), "12");
        CHECK_STREQ(json_string_value(json_object_get(v, "o")), "007");
        CHECK_STREQ(json_string_value(json_object_get(v, "p")), "1.0.0");
        CHECK_STREQ(json_string_value(json_object_get(v, "q")), "500m");
        json_decref(v);
}

static void test_documents(void) {
        char err[256];
        json_t *docs;
        const char *text = "---\na: 1\n---\n---\nb: &x [1, 2]\nc: *x\n...\n";
        CHECK(yamljson_parse(text, strlen(text), &docs, err, sizeof err) == 0);
        CHECK_EQ_INT(json_array_size(docs), 2); /* the empty document is skipped */
        json_t *d2 = json_array_get(docs, 1);
        CHECK(json_equal(json_object_get(d2, "b"), json_object_get(d2, "c")));
        json_decref(docs);
        /* JSON input */
        text = "  {\"a\": [1, {\"b\": null}]}";
        CHECK(yamljson_parse(text, strlen(text), &docs, err, sizeof err) == 0);
        CHECK(json_is_array(json_object_get(json_array_get(docs, 0), "a")));
        json_decref(docs);
        text = "{\"a\": [1,, 2]}";
        CHECK(yamljson_parse(text, strlen(text), &docs, err, sizeof err) == -EBADMSG);
        CHECK(strstr(err, "line 1, column") != NULL);
        /* Anchors do not leak into the next document. */
        text = "a: &x 1\n---\nb: *x\n";
        CHECK(yamljson_parse(text, strlen(text), &docs, err, sizeof err) == -EBADMSG);
        CHECK(strstr(err, "unknown alias") != NULL);
}

static void test_dump(void) {
        json_t *v = parse1("name: x\nport: 8080\nratio: 0.5\nflag: true\nver: \"1\"\nword: \"on\"\n"
                           "empty: \"\"\nlist: [a, 1]\nnested: {k: v}\nnull: ~\ntext: \"a: b\"\n");
        char *s = yamljson_dump(v);
        CHECK(s != NULL);
        /* What is dumped reads back as the same value. */
        json_t *back = parse1(s);
        CHECK(json_equal(v, back));
        CHECK(strstr(s, "ver: \"1\"") != NULL);
        CHECK(strstr(s, "port: 8080") != NULL);
        free(s);
        json_decref(back);
        json_decref(v);
}

int main(void) {
        test_scalars();
        test_documents();
        test_dump();
        return test_summary("test-yamljson");
}
