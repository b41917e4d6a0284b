/* test-http.c: request/response head parsing and chunked decoding. */
#include <errno.h>

#include "http.h"
#include "test.h"

static int parse(const char *s, HttpMessage *m) {
        return http_parse_request(s, strlen(s), 16384, m);
}

static void test_simple(void) {
        HttpMessage m;
        const char *s = "GET /v1/version?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent:  curl/8 \r\n\r\nrest";
        int r = parse(s, &m);
        CHECK_EQ_INT(r, (int) strlen(s) - 4);
        CHECK(http_method_is(&m, "GET"));
        CHECK(!http_method_is(&m, "GE"));
        CHECK_EQ_INT(m.version_minor, 1);
        CHECK(m.keep_alive);
        CHECK(!m.has_content_length);
        CHECK_EQ_INT(m.n_headers, 2);
        const char *v;
        size_t n;
        CHECK(http_header_find(&m, "user-agent", &v, &n));
        CHECK(n == 6 && memcmp(v, "curl/8", 6) == 0);
        CHECK(!http_header_find(&m, "accept", &v, &n));
        const char *path, *query;
        size_t pl, ql;
        http_target_split(&m, &path, &pl, &query, &ql);
        CHECK(pl == 11 && memcmp(path, "/v1/version", 11) == 0);
        CHECK(ql == 3 && memcmp(query, "x=1", 3) == 0);
}

static void test_incremental(void) {
        const char *s = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
        size_t head = strlen(s) - 5;
        HttpMessage m;
        /* Every prefix shorter than the head asks for more. */
        for (size_t i = 0; i < head; i++)
                CHECK_EQ_INT(http_parse_request(s, i, 16384, &m), 0);
        CHECK_EQ_INT(http_parse_request(s, head, 16384, &m), (int) head);
        CHECK(m.has_content_length);
        CHECK_EQ_INT(m.content_length, 5);
}

static void test_http10(void) {
        HttpMessage m;
        CHECK(parse("GET / HTTP/1.0\r\n\r\n", &m) > 0);
        CHECK(!m.keep_alive);
        CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &m) > 0);
        CHECK(m.keep_alive);
        CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n", &m) > 0);
        CHECK(!m.keep_alive);
        /* Bare LF line endings are accepted, as by most servers. */
        CHECK(parse("GET / HTTP/1.1\nHost: x\n\n", &m) > 0);
        /* Empty lines before the request line are skipped. */
        CHECK(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", &m) > 0);
        CHECK(http_method_is(&m, "GET"));
}

static void test_chunked_header(void) {
        HttpMessage m;
        CHECK(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", &m) > 0);
        CHECK(m.chunked);
        CHECK(parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &m) > 0);
        CHECK(m.expect_continue);
}

static const struct {
        const char *req;
        int err;
        const char *msg;
} bad[] = {
        { "GET / HTTP/1.1\r\n\r\n", -EBADMSG, "missing Host header" },
        { "GET / HTTP/2.0\r\nHost: x\r\n\r\n", -EPROTONOSUPPORT, "unsupported HTTP version" },
        { "GET / HTTP/1.2\r\nHost: x\r\n\r\n", -EPROTONOSUPPORT, "unsupported HTTP version" },
        { "GET / HTTX/1.1\r\nHost: x\r\n\r\n", -EBADMSG, "malformed HTTP version" },
        { "GET /\r\nHost: x\r\n\r\n", -EBADMSG, "malformed request line" },
        { "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", -EBADMSG, "malformed request line" },
        { " GET / HTTP/1.1\r\nHost: x\r\n\r\n", -EBADMSG, "malformed request line" },
        { "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", -EBADMSG, "invalid method" },
        { "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", -EBADMSG, "invalid character in request target" },
        { "GET / HTTP/1.1\r\nHost : x\r\n\r\n", -EBADMSG, "invalid character in header name" },
        { "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", -EBADMSG, "obsolete header line folding" },
        { "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", -EBADMSG, "header line without a name" },
        { "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", -EBADMSG, "header line without a name" },
        { "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", -EBADMSG, "bare CR in header" },
        { "GET / HTTP/1.1\r\nHost: x\r\nA: b\x7f\r\n\r\n", -EBADMSG, "invalid character in header value" },
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", -EBADMSG, "invalid Content-Length" },
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", -EBADMSG, "invalid Content-Length" },
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", -EBADMSG,
          "invalid Content-Length" },
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -EBADMSG,
          "conflicting Content-Length headers" },
        { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", -EBADMSG,
          "both Content-Length and Transfer-Encoding" },
        { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", -EOPNOTSUPP,
          "unsupported Transfer-Encoding" },
        { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", -EOPNOTSUPP,
          "unsupported Transfer-Encoding" },
        { "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -EBADMSG,
          "Transfer-Encoding in an HTTP/1.0 message" },
        { "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", -EBADMSG, "more than one Host header" },
        { "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", -EBADMSG, "unsupported Expect" },
};

static void test_bad(void) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                HttpMessage m;
                int r = parse(bad[i].req, &m);
                if (r != bad[i].err || !m.error || strcmp(m.error, bad[i].msg) != 0)
                        fprintf(stderr, "bad[%zu]: got %d '%s'\n", i, r, m.error ?: "");
                CHECK_EQ_INT(r, bad[i].err);
                CHECK_STREQ(m.error, bad[i].msg);
        }
        CHECK_EQ_INT(http_status_for_error(-EBADMSG), 400);
        CHECK_EQ_INT(http_status_for_error(-EMSGSIZE), 431);
        CHECK_EQ_INT(http_status_for_error(-EPROTONOSUPPORT), 505);
        CHECK_EQ_INT(http_status_for_error(-EOPNOTSUPP), 501);
}

static void test_limits(void) {
        char buf[40000];
        HttpMessage m;
        /* A head that does not end within max_head is too large... */
        memset(buf, 'a', sizeof buf);
        memcpy(buf, "GET /", 5);
        CHECK_EQ_INT(http_parse_request(buf, sizeof buf, 16384, &m), -EMSGSIZE);
        /* ...but only once max_head bytes have arrived. */
        CHECK_EQ_INT(http_parse_request(buf, 100, 16384, &m), 0);

        /* Too many header fields. */
        size_t o = (size_t) sprintf(buf, "GET / HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < HTTP_MAX_HEADERS; i++)
                o += (size_t) sprintf(buf + o, "X-%d: y\r\n", i);
        o += (size_t) sprintf(buf + o, "\r\n");
        CHECK_EQ_INT(http_parse_request(buf, o, sizeof buf, &m), -EMSGSIZE);
        CHECK_STREQ(m.error, "too many header fields");
}

static void test_response(void) {
        HttpMessage m;
        const char *s = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc";
        CHECK_EQ_INT(http_parse_response(s, strlen(s), 4096, &m), (int) strlen(s) - 3);
        CHECK_EQ_INT(m.status, 404);
        CHECK(m.reason_len == 9 && memcmp(m.reason, "Not Found", 9) == 0);
        CHECK_EQ_INT(m.content_length, 3);
        s = "HTTP/1.1 204\r\n\r\n";
        CHECK(http_parse_response(s, strlen(s), 4096, &m) > 0);
        CHECK_EQ_INT(m.status, 204);
        s = "HTTP/1.1 2x4 OK\r\n\r\n";
        CHECK_EQ_INT(http_parse_response(s, strlen(s), 4096, &m), -EBADMSG);
        s = "HTTP/1.1 600 OK\r\n\r\n";
        CHECK_EQ_INT(http_parse_response(s, strlen(s), 4096, &m), -EBADMSG);
}

static void test_format(void) {
        char buf[512];
        int n = http_format_response_head(buf, sizeof buf, 200, "text/plain", 3, true, NULL);
        CHECK_STREQ(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n");
        CHECK_EQ_INT(n, (int) strlen(buf));
        n = http_format_response_head(buf, sizeof buf, 413, NULL, 0, false, "Allow: GET\r\n");
        CHECK_STREQ(buf, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n"
                         "Allow: GET\r\n\r\n");
        CHECK_EQ_INT(http_format_response_head(buf, 10, 200, NULL, 0, true, NULL), -ENOBUFS);
}

static void test_chunked(void) {
        const char *enc = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        char buf[128];
        size_t consumed, produced;
        HttpChunked c = HTTP_CHUNKED_INIT;

        strcpy(buf, enc);
        CHECK_EQ_INT(http_chunked_decode(&c, buf, strlen(enc), &consumed, &produced), 1);
        CHECK_EQ_INT(produced, 11);
        CHECK(memcmp(buf, "hello world", 11) == 0);
        CHECK_EQ_INT(consumed, strlen(enc) - 4);

        /* Byte by byte, as a slow client sends it. */
        char out[64];
        size_t total = 0, i;
        c = HTTP_CHUNKED_INIT;
        int r = 0;
        for (i = 0; i < strlen(enc) && r == 0; i++) {
                char b = enc[i];
                r = http_chunked_decode(&c, &b, 1, &consumed, &produced);
                CHECK_EQ_INT(consumed, 1);
                if (produced)
                        out[total++] = b;
        }
        CHECK_EQ_INT(r, 1);
        CHECK_EQ_INT(total, 11);
        CHECK(memcmp(out, "hello world", 11) == 0);
        CHECK_EQ_INT(i, strlen(enc) - 4);

        static const char *bad_bodies[] = { "x\r\n", "5\r\nhelloXX", "\r\n", "5\rX" };
        for (i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++) {
                c = HTTP_CHUNKED_INIT;
                strcpy(buf, bad_bodies[i]);
                CHECK_EQ_INT(http_chunked_decode(&c, buf, strlen(buf), &consumed, &produced), -EBADMSG);
        }
        c = HTTP_CHUNKED_INIT;
        strcpy(buf, "fffffffffffffffffff\r\n");
        CHECK_EQ_INT(http_chunked_decode(&c, buf, strlen(buf), &consumed, &produced), -EMSGSIZE);
}

static void test_query(void) {
        char buf[64];
        const char *q = "watch=1&labelSelector=app%3Dweb%2Ctier+in+(a)&empty=&flag&bad=%zz&nul=%00";
        size_t n = strlen(q);
        CHECK_EQ_INT(http_query_get(q, n, "watch", buf, sizeof buf), 1);
        CHECK_STREQ(buf, "1");
        CHECK(http_query_get(q, n, "labelSelector", buf, sizeof buf) > 0);
        CHECK_STREQ(buf, "app=web,tier in (a)");
        CHECK_EQ_INT(http_query_get(q, n, "empty", buf, sizeof buf), 0);
        CHECK_EQ_INT(http_query_get(q, n, "flag", buf, sizeof buf), 0);
        CHECK_EQ_INT(http_query_get(q, n, "nope", buf, sizeof buf), -ENOENT);
        CHECK_EQ_INT(http_query_get(q, n, "bad", buf, sizeof buf), -EBADMSG);
        CHECK_EQ_INT(http_query_get(q, n, "nul", buf, sizeof buf), -EBADMSG);
        CHECK_EQ_INT(http_query_get(q, n, "labelSelector", buf, 5), -EBADMSG);
        CHECK_EQ_INT(http_unescape("a%2Fb", 5, buf, sizeof buf), 3);
        CHECK_STREQ(buf, "a/b");
        CHECK_EQ_INT(http_unescape("a%2", 3, buf, sizeof buf), -EBADMSG);
}

int main(void) {
        test_query();
        test_simple();
        test_incremental();
        test_http10();
        test_chunked_header();
        test_bad();
        test_limits();
        test_response();
        test_format();
        test_chunked();
        return test_summary("test-http");
}
