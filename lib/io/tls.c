/* tls.c: see tls.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "macro.h"
#include "tls.h"

/* OpenSSL's reason for the last failure, into err after what. */
static void tls_error(char *err, size_t size, const char *what) {
        unsigned long e = ERR_get_error();
        char reason[256] = "unknown error";
        if (e)
                ERR_error_string_n(e, reason, sizeof reason);
        ERR_clear_error();
        snprintf(err, size, "%s: %s", what, reason);
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
        static const unsigned char ours[] = "\x08http/1.1";
        unsigned char *sel = NULL;
        (void) ssl;
        (void) arg;
        if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
                return SSL_TLSEXT_ERR_ALERT_FATAL; /* only h2 offered, say: nothing we speak */
        *out = sel;
        return SSL_TLSEXT_ERR_OK;
}

int tls_server_context(const char *cert, const char *key, SSL_CTX **ret, char *err, size_t err_size) {
        char what[600];
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx) {
                tls_error(err, err_size, "creating a TLS context");
                return -ENOMEM;
        }
        /* TLS 1.2 and 1.3: nothing older (RFC 8996). */
        if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
                tls_error(err, err_size, "setting TLS 1.2 as the minimum");
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
        /* TLS 1.2: forward secrecy and AEAD only (no static RSA, no CBC);
         * TLS 1.3's suites are all of that kind. */
        if (!SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL")) {
                tls_error(err, err_size, "setting the TLS 1.2 ciphers");
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        /* Partial writes (the server keeps the rest), from a buffer that may move. */
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                      SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
        snprintf(what, sizeof what, "reading the certificate %s", cert);
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
                tls_error(err, err_size, what);
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        snprintf(what, sizeof what, "reading the key %s", key);
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
                tls_error(err, err_size, what);
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        snprintf(what, sizeof what, "the key %s does not match the certificate %s", key, cert);
        if (SSL_CTX_check_private_key(ctx) != 1) {
                tls_error(err, err_size, what);
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        *ret = ctx;
        return 0;
}

/* ---- the transport ------------------------------------------------------------- */

static int t_open(void *ctx, int fd, void **ret) {
        SSL *ssl = SSL_new(ctx);
        if (!ssl)
                return -ENOMEM;
        if (SSL_set_fd(ssl, fd) != 1) {
                SSL_free(ssl);
                return -ENOMEM;
        }
        SSL_set_accept_state(ssl);
        *ret = ssl;
        return 0;
}

/* errno from an SSL_* call that returned r <= 0; *other when it waits for
 * the direction it was not called for. */
static ssize_t t_fail(SSL *ssl, int r, bool reading, bool *other) {
        int e = SSL_get_error(ssl, r);
        switch (e) {
        case SSL_ERROR_WANT_READ:
                *other = !reading;
                errno = EAGAIN;
                return -1;
        case SSL_ERROR_WANT_WRITE:
                *other = reading;
                errno = EAGAIN;
                return -1;
        case SSL_ERROR_ZERO_RETURN: /* close_notify */
                return 0;
        case SSL_ERROR_SYSCALL:
                ERR_clear_error();
                if (errno == 0 || errno == EAGAIN)
                        errno = ECONNRESET; /* the peer went without close_notify */
                return -1;
        default:
                /* A failed handshake (a TLS 1.0 client, junk): said once, quietly. */
                if (log_get_max_level() >= LOG_DEBUG) {
                        char reason[256];
                        ERR_error_string_n(ERR_peek_error(), reason, sizeof reason);
                        log_debug("TLS connection failed: %s", reason);
                }
                ERR_clear_error();
                errno = EPROTO;
                return -1;
        }
}

static ssize_t t_recv(void *conn, void *buf, size_t n, bool *other) {
        SSL *ssl = conn;
        size_t got = 0;
        errno = 0;
        int r = SSL_read_ex(ssl, buf, n, &got);
        if (r == 1)
                return (ssize_t) got;
        return t_fail(ssl, r, true, other);
}

static ssize_t t_send(void *conn, const void *buf, size_t n, bool *other) {
        SSL *ssl = conn;
        size_t put = 0;
        if (n == 0)
                return 0;
        errno = 0;
        int r = SSL_write_ex(ssl, buf, n, &put);
        if (r == 1)
                return (ssize_t) put;
        ssize_t k = t_fail(ssl, r, false, other);
        if (k == 0) {
                errno = EPIPE; /* the peer closed: nothing more can be written */
                return -1;
        }
        return k;
}

static bool t_pending(void *conn) {
        return SSL_pending(conn) > 0;
}

static void t_shutdown(void *conn) {
        SSL *ssl = conn;
        /* close_notify, without waiting for the peer's. */
        if (SSL_is_init_finished(ssl))
                (void) SSL_shutdown(ssl);
        ERR_clear_error();
}

static void t_close(void *conn) {
        SSL_free(conn);
        ERR_clear_error();
}

const HttpTransport tls_transport = {
        .name = "TLS",
        .open = t_open,
        .recv = t_recv,
        .send = t_send,
        .pending = t_pending,
        .shutdown = t_shutdown,
        .close = t_close,
};

/* ---- certificates -------------------------------------------------------------- */

int tls_cert_info(const char *file, TlsCertInfo *ret, char *err, size_t err_size) {
        char what[600];
        *ret = (TlsCertInfo) {};
        _cleanup_fclose_ FILE *f = fopen(file, "re");
        if (!f) {
                int e = errno;
                snprintf(err, err_size, "cannot open the certificate %s: %s", file, strerror(e));
                return -e;
        }
        X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
        if (!x) {
                snprintf(what, sizeof what, "%s holds no PEM certificate", file);
                tls_error(err, err_size, what);
                return -EINVAL;
        }
        X509_NAME_oneline(X509_get_subject_name(x), ret->subject, sizeof ret->subject);
        X509_NAME_oneline(X509_get_issuer_name(x), ret->issuer, sizeof ret->issuer);
        const ASN1_TIME *na = X509_get0_notAfter(x);
        struct tm tm = {};
        if (na && ASN1_TIME_to_tm(na, &tm) == 1) {
                strftime(ret->not_after, sizeof ret->not_after, "%Y-%m-%d %H:%M:%S UTC", &tm);
                ret->not_after_epoch = (int64_t) timegm(&tm);
        }
        GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        size_t o = 0;
        for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                if (g->type != GEN_DNS)
                        continue;
                const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
                int l = ASN1_STRING_length(g->d.dNSName);
                int k = snprintf(ret->dns_names + o, sizeof ret->dns_names - o, "%s%.*s", o ? "," : "", l,
                                 (const char *) d);
                if (k < 0 || (size_t) k >= sizeof ret->dns_names - o)
                        break;
                o += (size_t) k;
        }
        GENERAL_NAMES_free(names);
        X509_free(x);
        return 0;
}

/* ---- the client ---------------------------------------------------------------- */

typedef struct TlsClient {
        SSL_CTX *ctx;
        SSL *ssl;
} TlsClient;

static ssize_t c_io(HttpIo *io, void *buf, size_t n, bool reading) {
        TlsClient *t = io->state;
        size_t done = 0;
        errno = 0; /* "0 after SSL_ERROR_SYSCALL" means the end: no stale value */
        int r = reading ? SSL_read_ex(t->ssl, buf, n, &done) : SSL_write_ex(t->ssl, buf, n, &done);
        if (r == 1)
                return (ssize_t) done;
        switch (SSL_get_error(t->ssl, r)) {
        case SSL_ERROR_WANT_READ:
                io->want = POLLIN;
                errno = EAGAIN;
                return -1;
        case SSL_ERROR_WANT_WRITE:
                io->want = POLLOUT;
                errno = EAGAIN;
                return -1;
        case SSL_ERROR_ZERO_RETURN:
                if (reading)
                        return 0;
                errno = EPIPE;
                return -1;
        case SSL_ERROR_SYSCALL:
                ERR_clear_error();
                /* The server went without close_notify: for a response framed
                 * by its end, that is its end. */
                if (reading && errno == 0)
                        return 0;
                if (errno == 0)
                        errno = ECONNRESET;
                return -1;
        default:
                ERR_clear_error();
                errno = EPROTO;
                return -1;
        }
}

static ssize_t c_recv(HttpIo *io, void *buf, size_t n) {
        return c_io(io, buf, n, true);
}

static ssize_t c_send(HttpIo *io, const void *buf, size_t n) {
        return c_io(io, (void *) buf, n, false);
}

static void c_close(HttpIo *io) {
        TlsClient *t = io->state;
        if (t) {
                if (t->ssl && SSL_is_init_finished(t->ssl))
                        (void) SSL_shutdown(t->ssl);
                SSL_free(t->ssl);
                SSL_CTX_free(t->ctx);
                free(t);
        }
        ERR_clear_error();
        io->state = NULL;
        io->fd = safe_close(io->fd);
}

static int tcp_connect(const char *host, const char *port, uint64_t deadline, char *err, size_t size) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
        int g = getaddrinfo(host, port, &hints, &ai);
        if (g != 0) {
                snprintf(err, size, "cannot resolve %s: %s", host, gai_strerror(g));
                return -EHOSTUNREACH;
        }
        int r = -ECONNREFUSED;
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
                int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        r = -errno;
                        continue;
                }
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
                        r = -errno;
                        safe_close(fd);
                        continue;
                }
                r = http_wait_fd(fd, POLLOUT, deadline);
                int soerr = 0;
                socklen_t l = sizeof soerr;
                if (r >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) == 0 && soerr == 0) {
                        freeaddrinfo(ai);
                        return fd;
                }
                if (r >= 0)
                        r = -soerr;
                safe_close(fd);
        }
        freeaddrinfo(ai);
        snprintf(err, size, "cannot connect to %s:%s: %s", host, port, strerror(-r));
        return r;
}

int tls_client_connect(const HttpEndpoint *e, uint64_t deadline, HttpIo *io, char *err, size_t size) {
        const TlsClientOptions *o = e->userdata;
        *io = (HttpIo) { .fd = -EBADF };
        int fd = tcp_connect(o->host, o->port, deadline, err, size);
        if (fd < 0)
                return fd;
        TlsClient *t = calloc(1, sizeof *t);
        if (!t) {
                safe_close(fd);
                return -ENOMEM;
        }
        *io = (HttpIo) { .fd = fd, .state = t, .recv = c_recv, .send = c_send, .close = c_close };
        t->ctx = SSL_CTX_new(TLS_client_method());
        if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION)) {
                tls_error(err, size, "setting up TLS");
                c_close(io);
                return -ENOMEM;
        }
        if (!o->insecure) {
                char what[600];
                snprintf(what, sizeof what, "reading the certificate authority %s", o->ca_file ?: "(the system's)");
                if ((o->ca_file ? SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL)
                                : SSL_CTX_set_default_verify_paths(t->ctx)) != 1) {
                        tls_error(err, size, what);
                        c_close(io);
                        return -EINVAL;
                }
                SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        }
        t->ssl = SSL_new(t->ctx);
        struct in6_addr a6;
        struct in_addr a4;
        bool literal = inet_pton(AF_INET, o->host, &a4) == 1 || inet_pton(AF_INET6, o->host, &a6) == 1;
        if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1 || SSL_set_alpn_protos(t->ssl, (const unsigned char *) "\x08http/1.1", 9) != 0 ||
            (!literal && SSL_set_tlsext_host_name(t->ssl, o->host) != 1) ||
            (!o->insecure && (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), o->host)
                                      : SSL_set1_host(t->ssl, o->host)) != 1)) {
                tls_error(err, size, "setting up the TLS connection");
                c_close(io);
                return -ENOMEM;
        }
        for (;;) {
                int r = SSL_connect(t->ssl);
                if (r == 1)
                        return 0;
                int k = SSL_get_error(t->ssl, r);
                if (k == SSL_ERROR_WANT_READ || k == SSL_ERROR_WANT_WRITE) {
                        r = http_wait_fd(fd, k == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
                        if (r < 0) {
                                snprintf(err, size, "the TLS handshake with %s:%s timed out", o->host, o->port);
                                c_close(io);
                                return r;
                        }
                        continue;
                }
                long v = SSL_get_verify_result(t->ssl);
                if (v != X509_V_OK)
                        snprintf(err, size,
                                 "the server's certificate is not trusted (%s): give its authority with "
                                 "--certificate-authority=FILE, or --insecure-skip-tls-verify",
                                 X509_verify_cert_error_string(v));
                else
                        tls_error(err, size, "the TLS handshake failed");
                ERR_clear_error();
                c_close(io);
                return -ECONNREFUSED;
        }
}
