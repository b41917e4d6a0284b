/* remote.c: where the CLI's requests go: the local socket, or a remote
 * sdflow over HTTPS with an API token, from the flags, the environment or
 * ~/.config/sdflow/config (a kubeconfig), in kubectl's order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "macro.h"
#include "tls.h"
#include "yamljson.h"

/* The value at clusters[name=N].cluster.KEY (or users, contexts). */
static json_t *named(json_t *cfg, const char *list, const char *name, const char *inner) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(cfg, list), i, e) {
                const char *n = json_string_value(json_object_get(e, "name"));
                if (n && name && strcmp(n, name) == 0)
                        return json_object_get(e, inner);
        }
        return NULL;
}

static char *read_small_file(const char *path, char *err, size_t size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f) {
                snprintf(err, size, "cannot read %s: %s", path, strerror(errno));
                return NULL;
        }
        char *buf = calloc(1, 65537);
        if (!buf)
                return NULL;
        size_t n = fread(buf, 1, 65536, f);
        if (ferror(f) || n == 65536) {
                snprintf(err, size, "%s: %s", path, ferror(f) ? "read error" : "larger than 64 KiB");
                free(buf);
                return NULL;
        }
        return buf;
}

/* A token from a file: its first line, without the newline. */
static char *token_from_file(const char *path, char *err, size_t size) {
        char *t = read_small_file(path, err, size);
        if (t)
                t[strcspn(t, "\r\n")] = '\0';
        if (t && !t[0]) {
                snprintf(err, size, "%s holds no token", path);
                free(t);
                return NULL;
        }
        return t;
}

/* Fills what the flags and environment left unset from the config file's
 * current context.  Returns 0 (also when there is no file), or < 0 after
 * printing what is wrong with it. */
static int from_config(CliRemote *r) {
        char path[4096], err[512];
        const char *p = getenv("SDFLOW_CONFIG");
        if (!p) {
                const char *home = getenv("HOME");
                if (!home)
                        return 0;
                snprintf(path, sizeof path, "%s/.config/sdflow/config", home);
                p = path;
        }
        struct stat st;
        if (stat(p, &st) < 0)
                return 0;
        _cleanup_free_ char *text = read_small_file(p, err, sizeof err);
        if (!text) {
                fprintf(stderr, "error: %s\n", err);
                return -EINVAL;
        }
        json_t *docs = NULL;
        if (yamljson_parse(text, strlen(text), &docs, err, sizeof err) < 0 || json_array_size(docs) != 1 ||
            !json_is_object(json_array_get(docs, 0))) {
                fprintf(stderr, "error: %s: %s\n", p, docs ? "not a kubeconfig (one YAML mapping)" : err);
                json_decref(docs);
                return -EINVAL;
        }
        json_t *cfg = json_incref(json_array_get(docs, 0));
        json_decref(docs);
        r->config = cfg;
        const char *ctx_name = r->context ?: json_string_value(json_object_get(cfg, "current-context"));
        json_t *ctx = named(cfg, "contexts", ctx_name, "context");
        if (!ctx) {
                if (r->context) {
                        fprintf(stderr, "error: %s: no context named %s\n", p, r->context);
                        return -EINVAL;
                }
                return 0;
        }
        json_t *cluster = named(cfg, "clusters", json_string_value(json_object_get(ctx, "cluster")), "cluster");
        json_t *user = named(cfg, "users", json_string_value(json_object_get(ctx, "user")), "user");
        if (!r->server)
                r->server = json_string_value(json_object_get(cluster, "server"));
        if (!r->ca_file)
                r->ca_file = json_string_value(json_object_get(cluster, "certificate-authority"));
        if (!r->insecure)
                r->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
        if (!r->token && !r->token_file) {
                r->token = json_string_value(json_object_get(user, "token"));
                r->token_file = json_string_value(json_object_get(user, "tokenFile"));
        }
        if (!r->ns)
                r->ns = json_string_value(json_object_get(ctx, "namespace"));
        return 0;
}

int cli_remote_setup(Cli *cli, CliRemote *r) {
        char err[512];
        if (!r->server)
                r->server = getenv("SDFLOW_SERVER");
        if (!r->token && !r->token_file)
                r->token = getenv("SDFLOW_TOKEN");
        if (from_config(r) < 0)
                return CLI_USAGE;
        if (!cli->ns && r->ns)
                cli->ns = r->ns;
        cli->ep = (HttpEndpoint) { .socket = cli->socket, .error = cli->ep_error, .error_size = sizeof cli->ep_error };
        cli->where = cli->socket;
        if (!r->server || !r->server[0])
                return CLI_OK; /* the local socket, where the caller is who they are */
        const char *s = r->server;
        if (strncmp(s, "https://", 8) != 0) {
                fprintf(stderr, "error: --server must be https://HOST[:PORT] (tokens only go over TLS), got '%s'\n", s);
                return CLI_USAGE;
        }
        s += 8;
        size_t hl;
        const char *port = "8443";
        if (s[0] == '[') { /* [v6]:port */
                const char *end = strchr(s, ']');
                if (!end) {
                        fprintf(stderr, "error: --server: unterminated [ in '%s'\n", r->server);
                        return CLI_USAGE;
                }
                hl = (size_t) (end - s - 1);
                snprintf(r->host, sizeof r->host, "%.*s", (int) hl, s + 1);
                s = end + 1;
        } else {
                hl = strcspn(s, ":/");
                snprintf(r->host, sizeof r->host, "%.*s", (int) hl, s);
                s += hl;
        }
        if (*s == ':') {
                size_t pl = strcspn(s + 1, "/");
                snprintf(r->port, sizeof r->port, "%.*s", (int) MIN(pl, sizeof r->port - 1), s + 1);
                port = r->port;
                s += 1 + pl;
        }
        if (!r->host[0] || (*s && strcmp(s, "/") != 0)) {
                fprintf(stderr, "error: --server must be https://HOST[:PORT], got '%s'\n", r->server);
                return CLI_USAGE;
        }
        if (r->token_file) {
                r->owned_token = token_from_file(r->token_file, err, sizeof err);
                if (!r->owned_token) {
                        fprintf(stderr, "error: --token-file: %s\n", err);
                        return CLI_USAGE;
                }
                r->token = r->owned_token;
        }
        if (!r->token || !r->token[0]) {
                fprintf(stderr, "error: a remote server needs an API token: --token-file=FILE, $SDFLOW_TOKEN or the "
                                "config's user (make one with 'sdflow token create --user NAME')\n");
                return CLI_USAGE;
        }
        for (const char *p = r->token; *p; p++)
                if ((unsigned char) *p < 0x21 || *p == 0x7f) {
                        fprintf(stderr, "error: the API token has a space or control character in it\n");
                        return CLI_USAGE;
                }
        snprintf(r->host_header, sizeof r->host_header, "%s%s%s:%s", strchr(r->host, ':') ? "[" : "", r->host,
                 strchr(r->host, ':') ? "]" : "", port);
        r->tls = (TlsClientOptions) { .host = r->host, .port = port, .ca_file = r->ca_file, .insecure = r->insecure };
        cli->ep = (HttpEndpoint) { .connect = tls_client_connect, .userdata = &r->tls, .host = r->host_header,
                                   .token = r->token, .error = cli->ep_error, .error_size = sizeof cli->ep_error };
        cli->where = r->server;
        cli->remote = true;
        return CLI_OK;
}

void cli_remote_done(CliRemote *r) {
        if (r->owned_token) {
                explicit_bzero(r->owned_token, strlen(r->owned_token));
                free(r->owned_token);
        }
        json_decref(r->config);
}
