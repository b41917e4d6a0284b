/* test-tmpl.c: Argo template variables. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "tmpl.h"

static int lookup(const char *name, const char **value, void *userdata) {
        (void) userdata;
        if (strcmp(name, "inputs.parameters.message") == 0)
                *value = "hello";
        else if (strcmp(name, "workflow.name") == 0)
                *value = "wf-1";
        else if (strcmp(name, "item") == 0)
                *value = "{{not-again}}"; /* values are not expanded again */
        else
                return -ENOENT;
        return 0;
}

static void expect(const char *in, const char *out) {
        char *got = NULL, err[200] = "";
        int r = tmpl_expand(in, lookup, NULL, &got, err, sizeof err);
        CHECK_EQ_INT(r, 0);
        if (r == 0)
                CHECK_STREQ(got, out);
        else
                fprintf(stderr, "'%s': %s\n", in, err);
        free(got);
}

static void refuse(const char *in, int code, const char *msg) {
        char *got = NULL, err[200] = "";
        CHECK_EQ_INT(tmpl_expand(in, lookup, NULL, &got, err, sizeof err), code);
        CHECK(got == NULL);
        if (!strstr(err, msg))
                fprintf(stderr, "'%s': got \"%s\"\n", in, err);
        CHECK(strstr(err, msg) != NULL);
}

static int count(const char *name, void *userdata) {
        (void) name;
        (*(int *) userdata)++;
        return 0;
}

int main(void) {
        expect("", "");
        expect("no variables", "no variables");
        expect("{{inputs.parameters.message}}", "hello");
        expect("say {{ inputs.parameters.message }} from {{workflow.name}}!", "say hello from wf-1!");
        expect("{{item}} stays", "{{not-again}} stays");
        expect("single { and } braces", "single { and } braces");
        expect("{{workflow.name}}{{workflow.name}}", "wf-1wf-1");
        refuse("{{inputs.parameters.other}}", -ENOENT, "'{{inputs.parameters.other}}' names no known variable");
        refuse("a {{workflow.name", -EINVAL, "is not closed with '}}'");
        refuse("{{=1+1}}", -EINVAL, "is an expression");
        refuse("{{}}", -EINVAL, "does not name a variable");
        refuse("{{ a b }}", -EINVAL, "does not name a variable");
        int n = 0;
        char err[200];
        CHECK_EQ_INT(tmpl_each("{{a}} {{b.c}} {{d}}", count, &n, err, sizeof err), 0);
        CHECK_EQ_INT(n, 3);
        return test_summary("test-tmpl");
}
