/* test-selector.c: label selector parsing and matching. */
#include <errno.h>

#include "selector.h"
#include "test.h"

static bool m(const char *sel, const char *labels_json) {
        Selector *s;
        char err[256];
        json_t *labels = json_loads(labels_json, 0, NULL);
        if (selector_parse(sel, &s, err, sizeof err) < 0) {
                fprintf(stderr, "'%s': %s\n", sel, err);
                json_decref(labels);
                return false;
        }
        bool r = selector_matches(s, labels);
        selector_free(s);
        json_decref(labels);
        return r;
}

static bool bad(const char *sel, const char *why) {
        Selector *s = NULL;
        char err[256] = "";
        int r = selector_parse(sel, &s, err, sizeof err);
        selector_free(s);
        return r == -EINVAL && strstr(err, why);
}

int main(void) {
        const char *l = "{\"app\":\"web\",\"tier\":\"front\",\"example.com/team\":\"a\"}";
        CHECK(m("", l));
        CHECK(m("app=web", l));
        CHECK(m("app==web", l));
        CHECK(!m("app=db", l));
        CHECK(m("app!=db", l));
        CHECK(m("missing!=x", l));
        CHECK(m("app", l));
        CHECK(!m("!app", l));
        CHECK(m("!legacy", l));
        CHECK(m("tier in (front, back)", l));
        CHECK(!m("tier notin (front)", l));
        CHECK(m("app=web, tier=front,example.com/team=a", l));
        CHECK(!m("app=web,tier=back", l));
        CHECK(!m("app", "{}"));
        CHECK(bad("app=", "invalid label value ''") || m("app=", "{\"app\":\"\"}"));
        CHECK(bad("-app=x", "invalid label key"));
        CHECK(bad("app in front", "expected '('"));
        CHECK(bad("app in (a b)", "expected ','"));
        CHECK(bad("app=a b", "unexpected 'b'"));
        CHECK(bad("app>3", "invalid label key"));
        return test_summary("test-selector");
}
