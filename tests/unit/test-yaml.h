/* test-yaml.h: the first document of a YAML text, for tests' objects
 * (exits on YAML the test got wrong).  Needs lib/model. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "yamljson.h"

static inline json_t *test_yaml(const char *yaml) {
        json_t *docs;
        char err[256];
        if (yamljson_parse(yaml, strlen(yaml), &docs, err, sizeof err) < 0) {
                fprintf(stderr, "bad test YAML: %s\n", err);
                exit(1);
        }
        json_t *o = json_incref(json_array_get(docs, 0));
        json_decref(docs);
        return o;
}
