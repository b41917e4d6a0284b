/* tls.h: TLS (OpenSSL) for sdflow's HTTP servers and clients.
 *
 * A server context takes a certificate chain and its key (PEM), speaks TLS
 * 1.2 and 1.3 only, chooses ALPN "http/1.1" and never renegotiates; its
 * connections go through tls_transport (server.h), non-blocking in the
 * event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "client.h"
#include "server.h"

/* A server context for the chain in cert and the key in key.  On failure
 * returns a negative errno and says why in err (the file, OpenSSL's reason). */
int tls_server_context(const char *cert, const char *key, SSL_CTX **ret, char *err, size_t err_size);

/* The transport for connections of a listener whose ctx is an SSL_CTX from
 * tls_server_context(). */
extern const HttpTransport tls_transport;

/* What the certificate in file says: its subject (one line, "/CN=host"), its
 * issuer and when it expires (as text and as seconds since the epoch).
 * Returns 0 or a negative errno with err set. */
typedef struct TlsCertInfo {
        char subject[512];
        char issuer[512];
        char not_after[64]; /* "2036-11-30 12:00:00 UTC" */
        int64_t not_after_epoch;
        char dns_names[512]; /* subjectAltName DNS entries, comma-separated */
} TlsCertInfo;
int tls_cert_info(const char *file, TlsCertInfo *ret, char *err, size_t err_size);

/* A client's TLS (client.h): to host:port, verifying the server's
 * certificate against ca_file (NULL: the system's trust store) and the
 * host's name or address, unless insecure. */
typedef struct TlsClientOptions {
        const char *host;
        const char *port;
        const char *ca_file;
        bool insecure;
} TlsClientOptions;

/* HttpEndpoint.connect for an endpoint whose userdata is a TlsClientOptions. */
int tls_client_connect(const HttpEndpoint *e, uint64_t deadline, HttpIo *io, char *err, size_t err_size);
