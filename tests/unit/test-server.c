/* test-server.c: the HTTP server on a real Unix socket, driven in-process. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server.h"
#include "test.h"

static sd_event *ev;
static HttpServer *srv;
static char sock_path[108];

static int closed_streams;
static HttpConn *held;

static void on_stream_close(HttpConn *c, void *ud) {
        (void) ud;
        if (c == held)
                held = NULL;
        closed_streams++;
}

static void handler(HttpConn *c, const HttpMessage *req, const char *body, size_t len, void *ud) {
        char out[4096];
        (void) ud;
        if (req->target_len == 7 && memcmp(req->target, "/stream", 7) == 0) {
                http_conn_stream_start(c, 200, "application/json", NULL, on_stream_close, NULL);
                http_conn_stream_write(c, "{\"a\":1}\n", 8);
                http_conn_stream_write(c, "{\"b\":2}\n", 8);
                http_conn_stream_end(c);
                return;
        }
        if (req->target_len == 6 && memcmp(req->target, "/later", 6) == 0) {
                /* Answers later (never, here): only the close handler runs. */
                http_conn_set_close_handler(c, on_stream_close, NULL);
                held = c;
                return;
        }
        if (req->target_len == 5 && memcmp(req->target, "/hold", 5) == 0) {
                http_conn_stream_start(c, 200, "application/json", NULL, on_stream_close, NULL);
                held = c;
                return;
        }
        int n = snprintf(out, sizeof out, "%.*s %.*s %zu:%s", (int) req->method_len, req->method,
                         (int) req->target_len, req->target, len, body);
        if (n >= (int) sizeof out)
                n = (int) sizeof out - 1;
        http_conn_reply(c, 200, "text/plain", out, (size_t) n, NULL);
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void pump(int ms) {
        uint64_t end = now_ms() + (uint64_t) ms;
        while (now_ms() < end && sd_event_get_state(ev) != SD_EVENT_FINISHED)
                sd_event_run(ev, 10 * 1000);
}

static void start(HttpServerConfig cfg) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        CHECK(sd_event_new(&ev) >= 0);
        CHECK(http_server_new(&srv, ev, &cfg, handler, NULL) >= 0);
        snprintf(sock_path, sizeof sock_path, "/tmp/test-server-%d.sock", getpid());
        unlink(sock_path);
        strcpy(sa.sun_path, sock_path);
        /* Blocking, as systemd hands sockets over: the server must cope. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0);
        CHECK(listen(fd, 16) == 0);
        CHECK(http_server_add_listener(srv, fd) >= 0);
}

static void stop(void) {
        srv = http_server_free(srv);
        ev = sd_event_unref(ev);
        unlink(sock_path);
}

static int client(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, sock_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        CHECK(connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0);
        return fd;
}

static void say(int fd, const char *s) {
        ssize_t n = send(fd, s, strlen(s), MSG_NOSIGNAL);
        if (n != (ssize_t) strlen(s))
                fprintf(stderr, "send of %zu bytes: %zd (%m)\n", strlen(s), n);
        CHECK(n == (ssize_t) strlen(s));
}

/* Reads what arrives within ms; *closed tells whether the server closed. */
static size_t hear(int fd, char *buf, size_t size, int ms, bool *closed) {
        size_t len = 0;
        uint64_t end = now_ms() + (uint64_t) ms;
        *closed = false;
        while (now_ms() < end && len + 1 < size) {
                sd_event_run(ev, 5 * 1000);
                ssize_t n = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
                if (n == 0) {
                        *closed = true;
                        break;
                }
                if (n > 0)
                        len += (size_t) n;
        }
        buf[len] = '\0';
        return len;
}

static int count(const char *hay, const char *needle) {
        int n = 0;
        for (const char *p = hay; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static HttpServerConfig small(void) {
        HttpServerConfig cfg = HTTP_SERVER_CONFIG_DEFAULT;
        cfg.max_head = 2048;
        cfg.max_body = 1000;
        cfg.request_timeout_usec = 300 * 1000;
        cfg.keepalive_timeout_usec = 2000 * 1000;
        return cfg;
}

static void test_keepalive_and_pipelining(void) {
        char buf[8192];
        bool closed;
        start(small());
        int fd = client();
        say(fd, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        hear(fd, buf, sizeof buf, 200, &closed);
        CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
        CHECK(strstr(buf, "GET /a 0:") != NULL);
        CHECK(!closed);
        /* Two pipelined requests in one write: two answers, in order. */
        say(fd, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK_EQ_INT(count(buf, "HTTP/1.1 200"), 2);
        CHECK(strstr(buf, "POST /b 3:abc") != NULL);
        CHECK(strstr(buf, "GET /c 0:") != NULL);
        CHECK(strstr(buf, "POST /b") < strstr(buf, "GET /c"));
        CHECK(!closed);
        /* Connection: close is honoured. */
        say(fd, "GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "GET /d") != NULL);
        CHECK(strstr(buf, "Connection: close") != NULL);
        CHECK(closed);
        close(fd);
        stop();
}

/* A body that arrives in pieces makes the read buffer grow (and move): the
 * handler must still see the request's own method and target, here and on
 * the next request of the connection. */
static void test_body_in_pieces(void) {
        char buf[8192], piece[1001];
        bool closed;
        HttpServerConfig cfg = small();
        cfg.max_body = 100000;
        /* 30 pieces with a pump of 2 ms or more each: the request timeout of
         * small() (300 ms) is not what this tests, and a loaded machine
         * (the package build runs tests two at a time) would reach it. */
        cfg.request_timeout_usec = 10 * 1000 * 1000;
        start(cfg);
        int fd = client();
        memset(piece, 'x', 1000);
        piece[1000] = '\0';
        /* Other connections allocate their buffers meanwhile, so growing
         * this one's cannot stay in place. */
        int others[30];
        for (int round = 0; round < 2; round++) {
                say(fd, "POST /target-in-pieces HTTP/1.1\r\nHost: x\r\nContent-Length: 30000\r\n\r\n");
                for (int i = 0; i < 30; i++) {
                        say(fd, piece);
                        others[i] = client();
                        say(others[i], "GET /other HTTP/1.1\r\n");
                        pump(2);
                }
                for (int i = 0; i < 30; i++)
                        close(others[i]);
                hear(fd, buf, sizeof buf, 300, &closed);
                CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
                CHECK(strstr(buf, "POST /target-in-pieces 30000:xxxx") != NULL);
                CHECK(!closed);
        }
        close(fd);
        stop();
}

/* A handler that answers later learns when its client goes away; a client
 * that pipelines meanwhile is answered in order once it does. */
static void test_answer_later(void) {
        char buf[8192];
        bool closed;
        start(small());
        int before = closed_streams;
        int fd = client();
        say(fd, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
        pump(50);
        CHECK(held != NULL);
        close(fd);
        pump(50);
        CHECK_EQ_INT(closed_streams, before + 1);
        CHECK(held == NULL);
        fd = client();
        say(fd, "GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        pump(50);
        CHECK(held != NULL);
        HttpConn *c = held;
        http_conn_set_close_handler(c, NULL, NULL);
        held = NULL;
        http_conn_reply(c, 200, "text/plain", "late", 4, NULL);
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK_EQ_INT(count(buf, "HTTP/1.1 200"), 2);
        CHECK(strstr(buf, "late") != NULL && strstr(buf, "GET /next") > strstr(buf, "late"));
        close(fd);
        stop();
}

static void test_errors(void) {
        char buf[8192], big[4096];
        bool closed;
        start(small());

        int fd = client();
        say(fd, "GET / HTTP/1.1\r\nHost : x\r\n\r\n");
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "HTTP/1.1 400 Bad Request") == buf);
        CHECK(strstr(buf, "{\"error\":\"invalid character in header name\",\"code\":400}") != NULL);
        CHECK(closed);
        close(fd);

        fd = client();
        say(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "HTTP/1.1 413 ") == buf);
        CHECK(strstr(buf, "1001 bytes exceeds the limit of 1000 bytes") != NULL);
        CHECK(closed);
        close(fd);

        fd = client();
        memset(big, 'a', sizeof big);
        memcpy(big, "GET /", 5);
        big[sizeof big - 1] = '\0';
        say(fd, big);
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "HTTP/1.1 431 ") == buf);
        CHECK(closed);
        close(fd);

        fd = client();
        say(fd, "GET / HTTP/3.0\r\nHost: x\r\n\r\n");
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "HTTP/1.1 505 ") == buf);
        close(fd);

        /* A chunked body over the limit. */
        fd = client();
        say(fd, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n");
        memset(big, 'b', 1024);
        big[1024] = '\0';
        say(fd, big);
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "HTTP/1.1 413 ") == buf);
        close(fd);

        /* The server still answers after all that. */
        fd = client();
        say(fd, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "GET /ok 0:") != NULL);
        close(fd);
        stop();
}

static void test_chunked_and_continue(void) {
        char buf[8192];
        bool closed;
        start(small());
        int fd = client();
        say(fd, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        hear(fd, buf, sizeof buf, 100, &closed);
        CHECK_EQ_INT(strlen(buf), 0);
        say(fd, "2\r\nde\r\n0\r\n\r\nGET /n HTTP/1.1\r\nHost: x\r\n\r\n");
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "POST /c 5:abcde") != NULL);
        CHECK(strstr(buf, "GET /n 0:") != NULL);

        say(fd, "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        hear(fd, buf, sizeof buf, 100, &closed);
        CHECK_STREQ(buf, "HTTP/1.1 100 Continue\r\n\r\n");
        say(fd, "hi");
        hear(fd, buf, sizeof buf, 200, &closed);
        CHECK(strstr(buf, "PUT /e 2:hi") != NULL);
        close(fd);
        stop();
}

static void test_slow_client(void) {
        char buf[8192];
        bool closed;
        start(small());
        int slow = client();
        say(slow, "GET /slow HTTP/1.1\r\nHo");
        /* Meanwhile others are served. */
        int fd = client();
        say(fd, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
        hear(fd, buf, sizeof buf, 100, &closed);
        CHECK(strstr(buf, "GET /fast") != NULL);
        /* The request timeout is 300 ms: 408, then close. */
        hear(slow, buf, sizeof buf, 800, &closed);
        CHECK(strstr(buf, "HTTP/1.1 408 ") == buf);
        CHECK(closed);
        close(slow);
        close(fd);
        stop();
}

static void test_max_connections(void) {
        char buf[8192];
        bool closed;
        HttpServerConfig cfg = small();
        cfg.max_connections = 2;
        start(cfg);
        int a = client(), b = client();
        pump(50);
        CHECK_EQ_INT(http_server_n_connections(srv), 2);
        int c = client(); /* queued by the kernel, not accepted */
        say(c, "GET /third HTTP/1.1\r\nHost: x\r\n\r\n");
        hear(c, buf, sizeof buf, 100, &closed);
        CHECK_EQ_INT(strlen(buf), 0);
        CHECK_EQ_INT(http_server_n_connections(srv), 2);
        close(a);
        hear(c, buf, sizeof buf, 200, &closed);
        CHECK(strstr(buf, "GET /third") != NULL);
        close(b);
        close(c);
        stop();
}

static void test_idle_exit(void) {
        char buf[1024];
        bool closed;
        HttpServerConfig cfg = small();
        cfg.idle_exit_usec = 200 * 1000;
        start(cfg);
        int fd = client();
        /* An open connection keeps the server alive past the idle time
         * (200 ms; the request timeout of 300 ms would close it later). */
        pump(250);
        CHECK(sd_event_get_state(ev) != SD_EVENT_FINISHED);
        say(fd, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        hear(fd, buf, sizeof buf, 200, &closed);
        CHECK(closed);
        close(fd);
        uint64_t t0 = now_ms();
        pump(2000);
        CHECK(sd_event_get_state(ev) == SD_EVENT_FINISHED);
        CHECK(now_ms() - t0 >= 150);
        stop();
}

static void test_streaming(void) {
        char buf[8192];
        bool closed;
        start(small());
        int fd = client();
        say(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
        hear(fd, buf, sizeof buf, 300, &closed);
        CHECK(strstr(buf, "Transfer-Encoding: chunked\r\n") != NULL);
        CHECK(strstr(buf, "\r\n\r\n8\r\n{\"a\":1}\n\r\n8\r\n{\"b\":2}\n\r\n0\r\n\r\n") != NULL);
        CHECK(closed);
        CHECK_EQ_INT(closed_streams, 0); /* ended by the server: no close callback */
        close(fd);

        /* A held stream outlives the request timeout; its peer leaving is noticed. */
        fd = client();
        say(fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
        hear(fd, buf, sizeof buf, 500, &closed);
        CHECK(!closed);
        CHECK(held != NULL);
        if (held)
                CHECK(http_conn_stream_write(held, "late\n", 5) == 0);
        hear(fd, buf, sizeof buf, 100, &closed);
        CHECK(strstr(buf, "5\r\nlate\n\r\n") != NULL);
        close(fd);
        pump(100);
        CHECK_EQ_INT(closed_streams, 1);
        CHECK(held == NULL);
        stop();
}

int main(void) {
        test_streaming();
        test_keepalive_and_pipelining();
        test_body_in_pieces();
        test_answer_later();
        test_errors();
        test_chunked_and_continue();
        test_slow_client();
        test_max_connections();
        test_idle_exit();
        return test_summary("test-server");
}
