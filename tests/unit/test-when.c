/* test-when.c: Argo `when` conditions after expansion. */
#include <errno.h>

#include "test.h"
#include "when.h"

static void is(const char *text, int want) {
        char err[200] = "";
        int r = when_eval(text, err, sizeof err);
        if (r != want)
                fprintf(stderr, "'%s': got %d (%s), expected %d\n", text, r, err, want);
        CHECK_EQ_INT(r, want);
}

static void refuse(const char *text, const char *msg) {
        char err[200] = "";
        CHECK_EQ_INT(when_eval(text, err, sizeof err), -EINVAL);
        if (!strstr(err, msg))
                fprintf(stderr, "'%s': got \"%s\"\n", text, err);
        CHECK(strstr(err, msg) != NULL);
}

int main(void) {
        /* Argo's coin flip, both ways. */
        is("heads == heads", 1);
        is("tails == heads", 0);
        is("tails != heads", 1);
        /* Numbers compare as numbers, else as strings. */
        is("150 > 100", 1);
        is("150 > 1000", 0);
        is("9 < 10", 1);
        is("'9' < '10'", 1); /* numbers even when quoted, as govaluate does for numeric strings */
        is("abc < abd", 1);
        is("2.5 >= 2.50", 1);
        is("-1 <= 0", 1);
        is("\"two words\" == 'two words'", 1);
        /* Logic. */
        is("true", 1);
        is("false", 0);
        is("!false", 1);
        is("1 == 1 && 2 == 3", 0);
        is("1 == 1 || 2 == 3", 1);
        is("!(1 == 2) && (a == a || b == c)", 1);
        is("true && true && false || true", 1);
        is("  3>2  ", 1);
        refuse("", "ends where a value should be");
        refuse("1 ==", "ends where a value should be");
        refuse("(1 == 1", "expected ')'");
        refuse("heads", "must be true or false");
        refuse("'open == x", "quoted string is not closed");
        /* Argo's regular expression matches (conditionals-complex). */
        is("heads =~ hea", 1);
        is("tails =~ hea", 0);
        is("tails !~ hea", 1);
        is("'v1.2.3' =~ '^v[0-9]+\\.[0-9]+'", 1);
        is("heads =~ 'h.*s' && tails =~ '^t'", 1);
        refuse("a =~ '('", "regular expression '(' is malformed");
        refuse("'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' =~ '(a+)+$'", "takes too long");
        refuse("1 + 1 == 2", "arithmetic is not supported");
        refuse("a == b c", "expected && or ||");
        char deep[400];
        memset(deep, '(', 200);
        strcpy(deep + 200, "true");
        refuse(deep, "nest too deeply");
        memset(deep, '!', 300);
        strcpy(deep + 300, "true");
        refuse(deep, "nest too deeply");
        return test_summary("test-when");
}
