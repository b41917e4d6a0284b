/* test-strv.c: vectors of owned strings: extend takes what it is given
 * (on failure too), complete refuses a vector with a hole. */
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "test.h"

static char **vec(const char *a, const char *b) {
        char **v = calloc(3, sizeof *v);
        v[0] = a ? strdup(a) : NULL;
        v[1] = b ? strdup(b) : NULL;
        return v;
}

int main(void) {
        _cleanup_strv_free_ char **l = NULL;
        CHECK_EQ_INT(strv_length(l), 0);
        CHECK_EQ_INT(strv_extend(&l, vec("a", "b")), 0);
        CHECK_EQ_INT(strv_extend(&l, NULL), 0);
        CHECK_EQ_INT(strv_extend(&l, vec("c", NULL)), 0);
        CHECK_EQ_INT(strv_length(l), 3);
        CHECK_STREQ(l[0], "a");
        CHECK_STREQ(l[2], "c");
        CHECK(l[3] == NULL);

        char **whole = vec("x", "y");
        CHECK(strv_complete(whole, 2) == whole);
        whole = strv_free(whole);
        CHECK(whole == NULL);
        char **holed = calloc(3, sizeof *holed);
        holed[1] = strdup("y"); /* holed[0] failed */
        CHECK(strv_complete(holed, 2) == NULL);
        CHECK(strv_free(NULL) == NULL);
        return test_summary("test-strv");
}
