/* test-login-parse.c: form fields, cookies, secrets, HTML escaping and the
 * back-off of failed logins (services/sdflowd/login-parse.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "login-parse.h"
#include "test.h"

static int cookie_of(const char *head, const char *name, char *out, size_t size) {
        HttpMessage m;
        CHECK(http_parse_request(head, strlen(head), 1 << 20, &m) > 0);
        return cookie_find(&m, name, out, size);
}

int main(void) {
        char v[64];

        /* Form fields: decoded, missing, too long, malformed. */
        const char *body = "username=al%69ce&password=p%40ss+w%C3%B6rd&empty=&flag";
        CHECK_EQ_INT(form_field(body, strlen(body), "username", v, sizeof v), 5);
        CHECK_STREQ(v, "alice");
        CHECK(form_field(body, strlen(body), "password", v, sizeof v) > 0);
        CHECK_STREQ(v, "p@ss w\xc3\xb6rd");
        CHECK_EQ_INT(form_field(body, strlen(body), "empty", v, sizeof v), 0);
        CHECK_EQ_INT(form_field(body, strlen(body), "flag", v, sizeof v), 0);
        CHECK_EQ_INT(form_field(body, strlen(body), "user", v, sizeof v), -ENOENT); /* a prefix is not the name */
        CHECK_EQ_INT(form_field(body, strlen(body), "nope", v, sizeof v), -ENOENT);
        CHECK_EQ_INT(form_field("a=123456", 8, "a", v, 4), -E2BIG);
        CHECK_EQ_INT(form_field("a=%4", 4, "a", v, sizeof v), -EBADMSG);
        CHECK_EQ_INT(form_field("a=%", 3, "a", v, sizeof v), -EBADMSG);
        CHECK_EQ_INT(form_field("a=%zz", 5, "a", v, sizeof v), -EBADMSG);
        CHECK_EQ_INT(form_field("a=x%00y", 7, "a", v, sizeof v), -EBADMSG); /* no NUL smuggled into a name */
        CHECK_EQ_INT(form_field("a=1&a=2", 7, "a", v, sizeof v), 1);      /* the first one counts */
        CHECK_STREQ(v, "1");
        /* Not NUL-terminated: only len bytes are read. */
        CHECK_EQ_INT(form_field("a=12345", 4, "a", v, sizeof v), 2);
        CHECK_STREQ(v, "12");

        /* Cookies: among others, in two headers, quoted; the first wins. */
        CHECK_EQ_INT(cookie_of("GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; sdflow_session=abc; b=2\r\n\r\n", "sdflow_session", v,
                               sizeof v), 1);
        CHECK_STREQ(v, "abc");
        CHECK_EQ_INT(cookie_of("GET / HTTP/1.1\r\nHost: x\r\nCookie: x=1\r\nCookie: sdflow_session=\"q\"\r\n\r\n",
                               "sdflow_session", v, sizeof v), 1);
        CHECK_STREQ(v, "q");
        CHECK_EQ_INT(cookie_of("GET / HTTP/1.1\r\nHost: x\r\nCookie: xsdflow_session=1\r\n\r\n", "sdflow_session", v, sizeof v), 0);
        CHECK_EQ_INT(cookie_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "sdflow_session", v, sizeof v), 0);
        CHECK_EQ_INT(cookie_of("GET / HTTP/1.1\r\nHost: x\r\nCookie: sdflow_session=0123456789\r\n\r\n", "sdflow_session", v, 5),
                     -E2BIG);
        /* A thousand cookies: found, or not, without trouble. */
        size_t big = 40 + 1000 * 8;
        char *head = malloc(big + 64);
        CHECK(head != NULL);
        size_t o = (size_t) sprintf(head, "GET / HTTP/1.1\r\nHost: x\r\nCookie: ");
        for (int i = 0; i < 1000; i++)
                o += (size_t) sprintf(head + o, "c%03d=1; ", i);
        sprintf(head + o, "sdflow_session=last\r\n\r\n");
        CHECK_EQ_INT(cookie_of(head, "sdflow_session", v, sizeof v), 1);
        CHECK_STREQ(v, "last");
        free(head);

        /* Secrets: 43 characters of base64url after the prefix, each new. */
        char s1[64], s2[64];
        CHECK(secret_new("sdf_", s1, sizeof s1) == 0);
        CHECK(secret_new("sdf_", s2, sizeof s2) == 0);
        CHECK_EQ_INT(strlen(s1), 4 + LOGIN_SECRET_CHARS);
        CHECK(strcmp(s1, s2) != 0);
        CHECK(secret_well_formed(s1, "sdf_"));
        CHECK(!secret_well_formed(s1 + 4, "sdf_"));
        CHECK(secret_well_formed(s1 + 4, ""));
        s1[10] = '+';
        CHECK(!secret_well_formed(s1, "sdf_")); /* not base64url */
        CHECK(!secret_well_formed("sdf_abc", "sdf_"));
        CHECK(secret_new("sdf_", s1, 20) == -ENOBUFS);

        /* HTML: every character that could end an attribute or start a tag. */
        char *e = html_escape("<script>alert('x')</script>&\"");
        CHECK_STREQ(e, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
        free(e);

        /* Where a login may send the browser on. */
        CHECK(next_is_local("/"));
        CHECK(next_is_local("/apis/kubeflow.org/v1/profiles"));
        CHECK(!next_is_local("//evil.example/"));
        CHECK(!next_is_local("/\\evil.example/"));
        CHECK(!next_is_local("https://evil.example/"));
        CHECK(!next_is_local("/a b"));
        CHECK(!next_is_local(""));

        /* The back-off: five free failures a minute, then 1 s, 2 s, 4 s... */
        Backoff *b = calloc(1, sizeof *b);
        uint64_t wait, t = 1000000;
        CHECK(b != NULL);
        backoff_init(b);
        for (unsigned i = 1; i <= BACKOFF_FREE; i++) {
                CHECK_EQ_INT(backoff_fail(b, "user alice", t), i);
                CHECK(!backoff_held(b, "user alice", t, &wait));
        }
        CHECK_EQ_INT(backoff_fail(b, "user alice", t), BACKOFF_FREE + 1);
        CHECK(backoff_held(b, "user alice", t, &wait));
        CHECK_EQ_INT(wait, 1000000);
        CHECK(!backoff_held(b, "user bob", t, &wait)); /* others are not held */
        backoff_fail(b, "user alice", t + 1000000);
        CHECK(backoff_held(b, "user alice", t + 1000000, &wait));
        CHECK_EQ_INT(wait, 2000000);
        for (int i = 0; i < 40; i++)
                backoff_fail(b, "user alice", t + 2000000);
        CHECK(backoff_held(b, "user alice", t + 2000000, &wait));
        CHECK_EQ_INT(wait, BACKOFF_MAX_USEC); /* capped */
        CHECK(!backoff_held(b, "user alice", t + 2000000 + BACKOFF_MAX_USEC, &wait));
        backoff_clear(b, "user alice");
        CHECK(!backoff_held(b, "user alice", t + 2000000, &wait));
        /* Only after a long quiet does the count start again. */
        for (int i = 0; i < BACKOFF_FREE; i++)
                backoff_fail(b, "address 10.0.0.9", t);
        CHECK_EQ_INT(backoff_fail(b, "address 10.0.0.9", t + BACKOFF_FORGET_USEC + 1), 1);
        /* A guesser who waits out every hold: the holds keep doubling, to
         * the cap, and guesses stay at one per BACKOFF_MAX_USEC. */
        uint64_t now = t;
        unsigned guesses = 0;
        while (now < t + 3600 * 1000000ULL) {
                if (backoff_held(b, "user patient", now, &wait))
                        now += wait;
                backoff_fail(b, "user patient", now);
                guesses++;
        }
        CHECK(guesses <= BACKOFF_FREE + 10 + 3600 / (BACKOFF_MAX_USEC / 1000000)); /* about 25 an hour */
        CHECK(backoff_held(b, "user patient", now, &wait) && wait == BACKOFF_MAX_USEC);
        /* IPv6 clients by their /64; IPv4 as they are. */
        char k[96];
        address_key("2001:db8:1:2:aaaa::1", k, sizeof k);
        CHECK_STREQ(k, "address 2001:db8:1:2::/64");
        address_key("2001:db8:1:2:ffff:1:2:3", v, sizeof v);
        CHECK_STREQ(v, k);
        address_key("10.1.2.3", k, sizeof k);
        CHECK_STREQ(k, "address 10.1.2.3");
        address_key("local", k, sizeof k);
        CHECK_STREQ(k, "address local");
        /* A flood of keys stays in the fixed table, and a held key is kept
         * over those that are not. */
        for (int i = 0; i < BACKOFF_FREE + 1; i++)
                backoff_fail(b, "user victim", t);
        char key[64];
        for (int i = 0; i < 100000; i++) {
                snprintf(key, sizeof key, "address 10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
                backoff_fail(b, key, t);
        }
        CHECK(backoff_held(b, "user victim", t, &wait));
        free(b);
        return test_summary("test-login-parse");
}
