/* frontdoor.c: see frontdoor.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "access.h"
#include "digest.h"
#include "frontdoor.h"
#include "kinds.h"
#include "log.h"
#include "login-parse.h"
#include "manager.h"
#include "manifest.h"
#include "rest.h"

#define COOKIE SDFLOW_SESSION_COOKIE
#define TOKEN_PREFIX "sdf_"
#define MAX_LOGIN_BODY 8192
#define MAX_PASSWORD 1024
#define MAX_USER 63 /* Caller.user and the store keep 63 bytes and a NUL */
#define MAX_LOGINS_PER_ADDRESS 4
/* last_used is written at most this often per credential (or a quarter of
 * the idle timeout, if that is shorter). */
#define TOUCH_EVERY_SEC 60
#define EXPIRE_EVERY_USEC (600 * USEC_PER_SEC)

/* Pages may show nothing from elsewhere, run no script, and not be framed. */
#define PAGE_HEADERS                                                                                           \
        "Cache-Control: no-store\r\n"                                                                          \
        "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "         \
        "frame-ancestors 'none'; base-uri 'none'\r\n"                                                          \
        "X-Frame-Options: DENY\r\n"                                                                            \
        "X-Content-Type-Options: nosniff\r\n"                                                                  \
        "Referrer-Policy: same-origin\r\n"

/* Sessions and tokens seen lately, with the caller they stand for: a
 * request then costs a hash and no lookup (in the store, or of the account
 * through NSS, which may be a round trip to systemd-userdbd or LDAP).
 * sdflowd is the store's only writer, so a revocation empties the cache at
 * once; an account's changes (groups, removal) count within CACHE_USEC. */
#define CACHE_SLOTS 1024
#define CACHE_USEC (30 * USEC_PER_SEC)

typedef struct CachedCredential {
        StoreCredential sc;
        Caller caller;
        uint64_t resolved; /* CLOCK_MONOTONIC; 0: empty */
} CachedCredential;

struct FrontDoor {
        CachedCredential cache[CACHE_SLOTS];
        sd_event *event;
        Store *store;
        gid_t admin_gid;
        uid_t gateway_uid;
        FrontDoorSettings s;
        Backoff backoff;
        sd_event_source *expire;
        struct Login *logins; /* under way */
};

typedef struct Login {
        struct Login *next, *prev;
        FrontDoor *f;
        HttpConn *conn;
        sd_bus_slot *slot;
        char user[MAX_USER + 1];
        char address[64];
        char address_key[96]; /* address_key(): an IPv6 client by its /64 */
        char next_page[256];
        bool json;
} Login;

static int64_t now_sec(void) {
        return (int64_t) time(NULL);
}

static uint64_t now_usec(FrontDoor *f) {
        uint64_t now = 0;
        (void) sd_event_now(f->event, CLOCK_MONOTONIC, &now);
        return now;
}

/* Text a user sent, fit for one line of the journal. */
static void log_safe(char *out, size_t size, const char *in) {
        size_t o = 0;
        for (; *in && o + 5 < size; in++) {
                unsigned char ch = (unsigned char) *in;
                if (ch < 0x20 || ch == 0x7f || ch == '\\')
                        o += (size_t) snprintf(out + o, size - o, "\\x%02x", ch);
                else
                        out[o++] = (char) ch;
        }
        out[o] = '\0';
}

static void cache_clear(FrontDoor *f);

static int on_expire(sd_event_source *s, uint64_t usec, void *userdata) {
        FrontDoor *f = userdata;
        int r = store_credentials_expire(f->store, now_sec());
        if (r != 0)
                cache_clear(f);
        if (r > 0)
                log_info("%d sessions or API tokens expired.", r);
        (void) sd_event_source_set_time(s, usec + EXPIRE_EVERY_USEC);
        return 0;
}

int frontdoor_new(FrontDoor **ret, sd_event *e, Store *store, gid_t admin_gid, const FrontDoorSettings *s) {
        FrontDoor *f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->event = sd_event_ref(e);
        f->store = store;
        f->admin_gid = admin_gid;
        f->s = *s;
        backoff_init(&f->backoff);
        struct passwd *pw = getpwnam("sdflow");
        f->gateway_uid = pw ? pw->pw_uid : (uid_t) -1;
        int r = sd_event_add_time_relative(e, &f->expire, CLOCK_MONOTONIC, 1, 0, on_expire, f);
        if (r >= 0)
                r = sd_event_source_set_enabled(f->expire, SD_EVENT_ON);
        if (r < 0) {
                frontdoor_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

static void login_free(Login *l) {
        FrontDoor *f = l->f;
        if (l->prev)
                l->prev->next = l->next;
        else
                f->logins = l->next;
        if (l->next)
                l->next->prev = l->prev;
        sd_bus_slot_unref(l->slot);
        free(l);
}

FrontDoor *frontdoor_free(FrontDoor *f) {
        if (!f)
                return NULL;
        while (f->logins) {
                if (f->logins->conn)
                        http_conn_set_close_handler(f->logins->conn, NULL, NULL);
                login_free(f->logins);
        }
        sd_event_source_disable_unref(f->expire);
        sd_event_unref(f->event);
        explicit_bzero(&f->backoff, sizeof f->backoff);
        free(f);
        return NULL;
}

/* ---- who -------------------------------------------------------------------------- */

static CachedCredential *cache_slot(FrontDoor *f, const char *sha256) {
        char head[9];
        snprintf(head, sizeof head, "%.8s", sha256);
        return &f->cache[strtoul(head, NULL, 16) % CACHE_SLOTS];
}

/* After anything was revoked or has expired in the store. */
static void cache_clear(FrontDoor *f) {
        for (size_t i = 0; i < CACHE_SLOTS; i++)
                f->cache[i].resolved = 0;
}

/* Removes credentials as store_credential_delete() does, and forgets what was cached. */
static int credential_delete(FrontDoor *f, const char *kind, const char *prefix, const char *user, const char *name) {
        cache_clear(f);
        return store_credential_delete(f->store, kind, prefix, user, name);
}

/* The caller a user name stands for; -ENOENT when there is no such account. */
static int caller_for_user(const FrontDoor *f, const char *user, Caller *ret) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwnam_r(user, &pw, buf, sizeof buf, &res) != 0 || !res)
                return -ENOENT;
        gid_t groups[256];
        int n = ELEMENTSOF(groups);
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
                n = 0;
        *ret = (Caller) { .uid = pw.pw_uid, .gid = pw.pw_gid };
        ret->admin = access_is_admin(pw.pw_uid, pw.pw_gid, groups, (size_t) n, f->admin_gid);
        snprintf(ret->user, sizeof ret->user, "%s", pw.pw_name);
        return 0;
}

static bool header_is(const HttpMessage *req, const char *name, const char *value) {
        const char *v;
        size_t vl;
        return http_header_find(req, name, &v, &vl) && vl == strlen(value) && strncasecmp(v, value, vl) == 0;
}

int frontdoor_identify(FrontDoor *f, HttpConn *c, const HttpMessage *req, Caller *ret, FrontRequest *fr) {
        struct ucred cred = {};
        const char *v;
        size_t vl;
        char secret[128];

        *fr = (FrontRequest) {};
        snprintf(fr->address, sizeof fr->address, "local");
        /* Only the gateway's word is taken for the client's address and TLS. */
        if (http_conn_peer_cred(c, &cred) >= 0 && f->gateway_uid != (uid_t) -1 && cred.uid == f->gateway_uid) {
                fr->via_gateway = true;
                if (http_header_find(req, "x-forwarded-for", &v, &vl) && vl > 0 && vl < sizeof fr->address)
                        snprintf(fr->address, sizeof fr->address, "%.*s", (int) vl, v);
                fr->secure = header_is(req, "x-forwarded-proto", "https");
        }

        if (http_header_find(req, "authorization", &v, &vl) && vl > 7 && strncasecmp(v, "Bearer ", 7) == 0) {
                if (vl - 7 >= sizeof secret) {
                        snprintf(fr->why, sizeof fr->why, "the API token is malformed (too long)");
                        return -EACCES;
                }
                snprintf(secret, sizeof secret, "%.*s", (int) (vl - 7), v + 7);
                if (!secret_well_formed(secret, TOKEN_PREFIX)) {
                        snprintf(fr->why, sizeof fr->why,
                                 "the bearer token is not an sdflow API token (sdf_ and 43 characters of base64url)");
                        return -EACCES;
                }
                fr->credential = FRONT_TOKEN;
        } else {
                int r = cookie_find(req, COOKIE, secret, sizeof secret);
                if (r == 0)
                        return 0;
                if (r < 0 || !secret_well_formed(secret, "")) {
                        snprintf(fr->why, sizeof fr->why, "the session cookie is malformed");
                        fr->credential = FRONT_SESSION;
                        return -EACCES;
                }
                fr->credential = FRONT_SESSION;
        }
        bool token = fr->credential == FRONT_TOKEN;
        int r = sha256_hex(secret, strlen(secret), fr->sha256);
        explicit_bzero(secret, sizeof secret);
        if (r < 0) {
                snprintf(fr->why, sizeof fr->why, "cannot check the credential: %s", strerror(-r));
                return -EACCES;
        }
        StoreCredential sc;
        int64_t now = now_sec();
        uint64_t mono = now_usec(f);
        const char *what = token ? "API token" : "session";
        CachedCredential *ce = cache_slot(f, fr->sha256);
        bool cached = ce->resolved > 0 && mono - ce->resolved < CACHE_USEC && strcmp(ce->sc.sha256, fr->sha256) == 0;
        if (cached) {
                sc = ce->sc;
                *ret = ce->caller;
        } else {
                r = store_credential_get(f->store, fr->sha256, &sc);
                if (r < 0 && r != -ENOENT) {
                        snprintf(fr->why, sizeof fr->why, "cannot check the %s: %s", what, strerror(-r));
                        return -EACCES;
                }
                if (r < 0 || strcmp(sc.kind, token ? "token" : "session") != 0) {
                        snprintf(fr->why, sizeof fr->why, "the %s is not valid (unknown, revoked or expired)", what);
                        return -EACCES;
                }
        }
        if (strcmp(sc.kind, token ? "token" : "session") != 0) {
                snprintf(fr->why, sizeof fr->why, "the %s is not valid (unknown, revoked or expired)", what);
                return -EACCES;
        }
        if ((sc.expires > 0 && now >= sc.expires) || (sc.idle > 0 && now >= sc.last_used + sc.idle)) {
                (void) credential_delete(f, sc.kind, sc.sha256, NULL, NULL);
                snprintf(fr->why, sizeof fr->why, "the %s has expired", what);
                return -EACCES;
        }
        if (!cached) {
                if (caller_for_user(f, sc.user, ret) < 0) {
                        snprintf(fr->why, sizeof fr->why, "the %s's user no longer exists", what);
                        return -EACCES;
                }
                *ce = (CachedCredential) { .sc = sc, .caller = *ret, .resolved = mono };
        }
        int64_t every = sc.idle > 0 ? MIN((int64_t) TOUCH_EVERY_SEC, sc.idle / 4) : TOUCH_EVERY_SEC;
        if (now - sc.last_used >= every && store_credential_touch(f->store, sc.sha256, now) >= 0)
                ce->sc.last_used = now;
        return 1;
}

bool frontdoor_same_origin(const HttpMessage *req, const FrontRequest *fr) {
        const char *origin, *host, *v;
        size_t ol, hl, vl;
        /* No Origin, or "null" (a page whose referrer policy hides it):
         * believe only the browser's own Sec-Fetch-Site, which no page can set. */
        if (!http_header_find(req, "origin", &origin, &ol) || (ol == 4 && memcmp(origin, "null", 4) == 0))
                return http_header_find(req, "sec-fetch-site", &v, &vl) && vl == 11 &&
                       strncasecmp(v, "same-origin", 11) == 0;
        if (!http_header_find(req, "host", &host, &hl) || hl == 0)
                return false;
        const char *scheme = fr->secure ? "https://" : "http://";
        size_t sl = strlen(scheme);
        return ol == sl + hl && strncasecmp(origin, scheme, sl) == 0 && strncasecmp(origin + sl, host, hl) == 0;
}

/* ---- pages ------------------------------------------------------------------------ */

static void reply_page(HttpConn *c, int code, const char *title, const char *body_html, const char *extra) {
        _cleanup_free_ char *page = NULL, *headers = NULL;
        if (asprintf(&page,
                     "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<title>%s · sdflow</title><style>"
                     "body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f7;color:#202124}"
                     "header{background:#1a73e8;color:#fff;padding:12px 24px;font-size:20px}"
                     "main{max-width:640px;margin:32px auto;background:#fff;padding:24px 32px;border-radius:8px;"
                     "box-shadow:0 1px 3px rgba(0,0,0,.2)}"
                     "label{display:block;margin:12px 0 4px}input[type=text],input[type=password]{width:100%%;"
                     "padding:8px;box-sizing:border-box}button{margin-top:16px;padding:8px 20px;background:#1a73e8;"
                     "color:#fff;border:0;border-radius:4px;font-size:15px}.error{color:#c5221f}"
                     "table{border-collapse:collapse;width:100%%}td,th{text-align:left;padding:6px;border-bottom:"
                     "1px solid #ddd}"
                     "</style></head><body><header>sdflow</header><main>\n%s</main></body></html>\n",
                     title, body_html) < 0 ||
            asprintf(&headers, PAGE_HEADERS "%s", extra ?: "") < 0) {
                rest_reply_status(c, 500, NULL, NULL, "out of memory");
                return;
        }
        (void) http_conn_reply(c, code, "text/html; charset=utf-8", page, strlen(page), headers);
}

static void reply_login_form(HttpConn *c, int code, const char *error, const char *next, const char *extra) {
        _cleanup_free_ char *enext = html_escape(next && next_is_local(next) ? next : "/"), *body = NULL;
        if (!enext || asprintf(&body,
                               "<h1>Log in</h1><p>With your account on this host.</p>%s%s%s"
                               "<form method=\"post\" action=\"/login\">"
                               "<input type=\"hidden\" name=\"next\" value=\"%s\">"
                               "<label for=\"username\">User name</label>"
                               "<input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" "
                               "autocapitalize=\"none\" required autofocus>"
                               "<label for=\"password\">Password</label>"
                               "<input type=\"password\" id=\"password\" name=\"password\" "
                               "autocomplete=\"current-password\" required>"
                               "<button type=\"submit\" id=\"login\">Log in</button></form>\n",
                               error ? "<p class=\"error\" id=\"error\">" : "", error ?: "", error ? "</p>" : "",
                               enext) < 0) {
                rest_reply_status(c, 500, NULL, NULL, "out of memory");
                return;
        }
        reply_page(c, code, "Log in", body, extra);
}

static void redirect(HttpConn *c, const char *to, const char *extra) {
        _cleanup_free_ char *h = NULL;
        if (asprintf(&h, "Location: %s\r\n" PAGE_HEADERS "%s", to, extra ?: "") < 0) {
                rest_reply_status(c, 500, NULL, NULL, "out of memory");
                return;
        }
        (void) http_conn_reply(c, 303, "text/plain; charset=utf-8", "", 0, h);
}

#define CLEAR_COOKIE "Set-Cookie: " COOKIE "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax\r\n"

/* The namespaces caller may use, as [{name, role}]. */
static json_t *caller_namespaces(FrontDoor *f, const Caller *caller) {
        json_auto_t *profiles = NULL;
        json_t *out = json_array();
        if (!out || store_list(f->store, &kind_profile, NULL, &profiles, NULL) < 0)
                return out;
        size_t i;
        json_t *p;
        json_array_foreach(profiles, i, p) {
                const char *name = manifest_name(p), *role = NULL;
                json_auto_t *cs = NULL;
                if (access_owns(caller->user, false, p))
                        role = "owner";
                else if (store_contributors(f->store, name, &cs) >= 0 && access_may_use(caller->user, false, p, cs))
                        role = "contributor";
                else if (caller->admin)
                        role = "admin";
                if (role)
                        (void) json_array_append_new(out, json_pack("{s:s, s:s}", "name", name, "role", role));
        }
        return out;
}

static const char *credential_name(const FrontRequest *fr) {
        return fr->credential == FRONT_SESSION ? "session" : fr->credential == FRONT_TOKEN ? "token" : "unix-socket";
}

static void handle_whoami(FrontDoor *f, HttpConn *c, const Caller *caller, const FrontRequest *fr) {
        json_t *groups = json_array();
        gid_t gids[256];
        int n = ELEMENTSOF(gids);
        struct passwd *pw = getpwnam(caller->user);
        if (pw && getgrouplist(pw->pw_name, pw->pw_gid, gids, &n) >= 0)
                for (int i = 0; i < n && groups; i++) {
                        struct group *g = getgrgid(gids[i]);
                        if (g)
                                (void) json_array_append_new(groups, json_string(g->gr_name));
                }
        rest_reply_json(c, 200,
                        json_pack("{s:s, s:I, s:o*, s:b, s:o*, s:s}", "user", caller->user, "uid",
                                  (json_int_t) caller->uid, "groups", groups, "admin", caller->admin, "namespaces",
                                  caller_namespaces(f, caller), "authenticatedBy", credential_name(fr)),
                        NULL);
}

static void handle_landing(FrontDoor *f, HttpConn *c, const Caller *caller) {
        json_auto_t *nss = caller_namespaces(f, caller);
        _cleanup_free_ char *euser = html_escape(caller->user), *rows = strdup(""), *body = NULL;
        size_t i;
        json_t *ns;
        json_array_foreach(nss, i, ns) {
                _cleanup_free_ char *ename = html_escape(json_string_value(json_object_get(ns, "name")) ?: "");
                char *more = NULL;
                if (!ename || !rows ||
                    asprintf(&more, "%s<tr><td>%s</td><td>%s</td></tr>", rows, ename,
                             json_string_value(json_object_get(ns, "role")) ?: "") < 0)
                        break;
                free(rows);
                rows = more;
        }
        if (!euser || !rows ||
            asprintf(&body,
                     "<h1>Hello, <span id=\"user\">%s</span></h1>%s"
                     "<h2>Your namespaces</h2>%s%s%s"
                     "<form method=\"post\" action=\"/logout\"><button type=\"submit\" id=\"logout\">Log out"
                     "</button></form>\n",
                     euser, caller->admin ? "<p>You administer this host's sdflow.</p>" : "",
                     json_array_size(nss) ? "<table id=\"namespaces\"><tr><th>Namespace</th><th>Role</th></tr>"
                                          : "<p id=\"namespaces\">None yet: an administrator makes one with a "
                                            "Profile naming you as its owner.</p>",
                     rows, json_array_size(nss) ? "</table>" : "") < 0) {
                rest_reply_status(c, 500, NULL, NULL, "out of memory");
                return;
        }
        reply_page(c, 200, "Home", body, NULL);
}

/* ---- login ------------------------------------------------------------------------ */

static void login_answer_failure(Login *l, int code, const char *msg, uint64_t wait) {
        char extra[64] = "";
        if (!l->conn)
                return; /* the client went: nobody to answer */
        if (wait > 0)
                snprintf(extra, sizeof extra, "Retry-After: %llu\r\n", (unsigned long long) (wait + 999999) / 1000000);
        if (l->json)
                rest_reply_status(l->conn, code, NULL, NULL, "%s", msg);
        else
                reply_login_form(l->conn, code, msg, l->next_page, extra[0] ? extra : NULL);
}

#define LOGIN_REFUSED "Wrong user name or password, or this account may not log in here."

static int create_session(FrontDoor *f, const char *user, const char *address, char *cookie, size_t size) {
        StoreCredential sc = { .created = now_sec() };
        char secret[LOGIN_SECRET_CHARS + 1];
        int r = secret_new("", secret, sizeof secret);
        if (r < 0)
                return r;
        r = sha256_hex(secret, strlen(secret), sc.sha256);
        if (r < 0)
                return r;
        snprintf(sc.kind, sizeof sc.kind, "session");
        snprintf(sc.user, sizeof sc.user, "%s", user);
        snprintf(sc.address, sizeof sc.address, "%s", address);
        sc.last_used = sc.created;
        sc.expires = sc.created + (int64_t) (f->s.session_lifetime_usec / USEC_PER_SEC);
        sc.idle = (int64_t) (f->s.session_idle_usec / USEC_PER_SEC);
        r = store_credential_add(f->store, &sc);
        if (r < 0)
                return r;
        snprintf(cookie, size,
                 "Set-Cookie: " COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; Secure; SameSite=Lax\r\n", secret,
                 (long long) (sc.expires - sc.created));
        explicit_bzero(secret, sizeof secret);
        return 0;
}

static int on_authenticated(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Login *l = userdata;
        FrontDoor *f = l->f;
        char key_user[96], key_addr[96], safe[160];
        int ok = 0;
        const char *user = NULL;
        (void) ret_error;
        if (l->conn)
                http_conn_set_close_handler(l->conn, NULL, NULL);
        snprintf(key_user, sizeof key_user, "user %s", l->user);
        snprintf(key_addr, sizeof key_addr, "%s", l->address_key);
        /* A name that is no account's is often a password typed one field
         * too early: it is not written down. */
        if (getpwnam(l->user))
                log_safe(safe, sizeof safe, l->user);
        else
                snprintf(safe, sizeof safe, "an unknown user");
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                log_warning("Checking the password of %s (from %s) failed: %s", safe, l->address,
                            e && e->message ? e->message : "no answer from sdflow-privd");
                login_answer_failure(l, 503, "The login service is not available right now; try again.", 0);
        } else if (sd_bus_message_read(m, "bs", &ok, &user) < 0 || !ok || !user || !user[0] ||
                   strlen(user) > MAX_USER) {
                unsigned n = backoff_fail(&f->backoff, key_user, now_usec(f));
                unsigned k = backoff_fail(&f->backoff, key_addr, now_usec(f));
                log_notice("Failed login for %s from %s (%u failures for the user, %u from the address in the "
                           "last minute).", safe, l->address, n, k);
                login_answer_failure(l, 401, LOGIN_REFUSED, 0);
        } else {
                char cookie[256];
                backoff_clear(&f->backoff, key_user);
                backoff_clear(&f->backoff, key_addr);
                int r = l->conn ? create_session(f, user, l->address, cookie, sizeof cookie) : 0;
                if (r < 0) {
                        log_warning_errno(r, "Storing a session for %s failed: %m", user);
                        login_answer_failure(l, 500, "The session could not be stored.", 0);
                } else if (!l->conn) {
                        /* The client went before the answer: no session
                         * for nobody, but the password was right. */
                        log_info("%s's password was right, but the client from %s had gone.", user, l->address);
                } else {
                        log_info("%s logged in from %s.", user, l->address);
                        if (l->json)
                                rest_reply_json(l->conn, 200, json_pack("{s:s}", "user", user), cookie);
                        else
                                redirect(l->conn, next_is_local(l->next_page) ? l->next_page : "/", cookie);
                        explicit_bzero(cookie, sizeof cookie);
                }
        }
        login_free(l);
        return 0;
}

/* The client hung up before PAM's answer: the check goes on, and its
 * failure still counts (else hanging up at once would be a free guess, the
 * right password being answered faster than the padded refusal), and it
 * still counts against the checks a user or an address may have running. */
static void on_login_client_gone(HttpConn *c, void *userdata) {
        Login *l = userdata;
        (void) c;
        l->conn = NULL;
}

static bool wants_json(const HttpMessage *req) {
        const char *v;
        size_t vl;
        return http_header_find(req, "accept", &v, &vl) && memmem(v, vl, "application/json", 16) &&
               !memmem(v, vl, "text/html", 9);
}

static void handle_login(FrontDoor *f, HttpConn *c, const HttpMessage *req, const char *body, size_t len,
                         const FrontRequest *fr) {
        char user[MAX_USER + 1], password[MAX_PASSWORD + 1], next[256] = "/";
        const char *v;
        size_t vl;
        bool json = wants_json(req);
        int r;

        /* Over the network only through TLS: a password in the clear is refused. */
        if (fr->via_gateway && !fr->secure && strcmp(fr->address, "local") != 0 &&
            strncmp(fr->address, "127.", 4) != 0 && strcmp(fr->address, "::1") != 0) {
                rest_reply_status(c, 403, NULL, NULL, "log in over HTTPS (port 8443)");
                return;
        }
        /* A login made from another site's page (login CSRF) is not one. */
        if (http_header_find(req, "origin", &v, &vl) && !frontdoor_same_origin(req, fr)) {
                rest_reply_status(c, 403, NULL, NULL, "a login from another origin (%.*s) is refused",
                                  (int) MIN(vl, (size_t) 100), v);
                return;
        }
        if (!http_header_find(req, "content-type", &v, &vl) || vl < 33 ||
            strncasecmp(v, "application/x-www-form-urlencoded", 33) != 0) {
                rest_reply_status(c, 415, NULL, NULL,
                                  "POST /login takes a form (Content-Type: application/x-www-form-urlencoded) with "
                                  "username and password");
                return;
        }
        if (len > MAX_LOGIN_BODY) {
                rest_reply_status(c, 413, NULL, NULL, "a login form of %zu bytes: at most %d", len, MAX_LOGIN_BODY);
                return;
        }
        r = form_field(body, len, "next", next, sizeof next);
        if (r < 0 || !next_is_local(next))
                snprintf(next, sizeof next, "/");
        r = form_field(body, len, "username", user, sizeof user);
        if (r == -ENOENT || r == 0) {
                rest_reply_status(c, 400, NULL, NULL, "the form has no username");
                return;
        }
        if (r == -E2BIG) {
                rest_reply_status(c, 400, NULL, NULL, "username: longer than %d bytes", MAX_USER);
                return;
        }
        if (r < 0) {
                rest_reply_status(c, 400, NULL, NULL, "username: malformed %%-encoding or a NUL byte");
                return;
        }
        for (const char *p = user; *p; p++)
                if ((unsigned char) *p < 0x21 || *p == 0x7f || *p == ':' || *p == '/') {
                        rest_reply_status(c, 400, NULL, NULL,
                                          "username: a space, control character, ':' or '/', which no account "
                                          "name has");
                        return;
                }
        r = form_field(body, len, "password", password, sizeof password);
        if (r == -ENOENT || r == 0) {
                rest_reply_status(c, 400, NULL, NULL, "the form has no password");
                return;
        }
        if (r == -E2BIG) {
                explicit_bzero(password, sizeof password);
                rest_reply_status(c, 400, NULL, NULL, "password: longer than %d bytes", MAX_PASSWORD);
                return;
        }
        if (r < 0) {
                explicit_bzero(password, sizeof password);
                rest_reply_status(c, 400, NULL, NULL, "password: malformed %%-encoding or a NUL byte");
                return;
        }
        /* On hold: not even checked, so that guessing goes no faster. */
        char key_user[96], key_addr[96];
        uint64_t wu = 0, wa = 0, now = now_usec(f);
        snprintf(key_user, sizeof key_user, "user %s", user);
        address_key(fr->address, key_addr, sizeof key_addr);
        bool held_user = backoff_held(&f->backoff, key_user, now, &wu);
        bool held_addr = backoff_held(&f->backoff, key_addr, now, &wa);
        if (held_user || held_addr) {
                char safe[160], msg[200];
                uint64_t wait = MAX(wu, wa);
                explicit_bzero(password, sizeof password);
                if (getpwnam(user))
                        log_safe(safe, sizeof safe, user);
                else
                        snprintf(safe, sizeof safe, "an unknown user");
                log_notice("Login for %s from %s held back: too many failures.", safe, fr->address);
                snprintf(msg, sizeof msg, "Too many failed logins: try again in %llu s.",
                         (unsigned long long) (wait + 999999) / 1000000);
                Login tmp = { .conn = c, .json = json };
                snprintf(tmp.next_page, sizeof tmp.next_page, "%s", next);
                login_answer_failure(&tmp, 429, msg, wait);
                return;
        }
        /* Guesses in parallel go no faster than one after the other: one
         * check at a time per user, a few per address. */
        unsigned same_user = 0, same_addr = 0;
        for (Login *x = f->logins; x; x = x->next) {
                same_user += strcmp(x->user, user) == 0;
                same_addr += strcmp(x->address_key, key_addr) == 0;
        }
        if (same_user >= 1 || same_addr >= MAX_LOGINS_PER_ADDRESS) {
                explicit_bzero(password, sizeof password);
                Login tmp = { .conn = c, .json = json };
                snprintf(tmp.next_page, sizeof tmp.next_page, "%s", next);
                login_answer_failure(&tmp, 429, "Another login for this user or address is being checked: try again "
                                                "in a moment.", USEC_PER_SEC);
                return;
        }
        Login *l = calloc(1, sizeof *l);
        if (!l) {
                explicit_bzero(password, sizeof password);
                rest_reply_status(c, 500, NULL, NULL, "out of memory");
                return;
        }
        l->f = f;
        l->conn = c;
        l->json = json;
        snprintf(l->user, sizeof l->user, "%s", user);
        snprintf(l->address, sizeof l->address, "%s", fr->address);
        snprintf(l->address_key, sizeof l->address_key, "%s", key_addr);
        snprintf(l->next_page, sizeof l->next_page, "%s", next);
        l->next = f->logins;
        if (f->logins)
                f->logins->prev = l;
        f->logins = l;
        r = manager_authenticate(user, password, fr->address, &l->slot, on_authenticated, l);
        explicit_bzero(password, sizeof password);
        if (r < 0) {
                log_warning_errno(r, "Asking sdflow-privd to check a password failed: %m");
                login_answer_failure(l, 503, "The login service is not available right now; try again.", 0);
                login_free(l);
                return;
        }
        http_conn_set_close_handler(c, on_login_client_gone, l);
}

static void handle_logout(FrontDoor *f, HttpConn *c, const HttpMessage *req, const FrontRequest *fr) {
        if (fr->credential == FRONT_SESSION && fr->sha256[0])
                (void) credential_delete(f, "session", fr->sha256, NULL, NULL);
        if (wants_json(req))
                rest_reply_json(c, 200, json_pack("{s:s}", "status", "logged out"), CLEAR_COOKIE);
        else
                redirect(c, "/login", CLEAR_COOKIE);
}

/* ---- sessions and tokens ---------------------------------------------------------- */

static bool hex_id(const char *s) {
        size_t n = strlen(s);
        if (n < 8 || n > 64)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static bool token_name_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 63)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || *s == '-' || *s == '.' || *s == '_'))
                        return false;
        return true;
}

/* /api/sessions[/ID], /api/tokens[/NAME]. */
static void handle_credentials(FrontDoor *f, HttpConn *c, const HttpMessage *req, const char *body, size_t len,
                               const Caller *caller, const FrontRequest *fr, bool tokens, const char *item) {
        const char *kind = tokens ? "token" : "session";
        /* Everyone's, for an administrator who asks (?all): else one's own. */
        const char *query;
        size_t path_len, qlen;
        const char *path;
        http_target_split(req, &path, &path_len, &query, &qlen);
        bool all = caller->admin && (!tokens || rest_param_true(query, qlen, "all"));
        if (http_method_is(req, "GET") && !item) {
                json_t *items = NULL;
                int r = store_credentials(f->store, kind, all ? NULL : caller->user, &items);
                if (r < 0) {
                        rest_reply_status(c, 500, NULL, NULL, "reading the %ss failed: %s", kind, strerror(-r));
                        return;
                }
                /* Which one is the caller's own. */
                size_t i;
                json_t *it;
                json_array_foreach(items, i, it)
                        if (fr->sha256[0] &&
                            strncmp(json_string_value(json_object_get(it, "id")) ?: "", fr->sha256, 12) == 0)
                                (void) json_object_set_new(it, "current", json_true());
                rest_reply_json(c, 200, json_pack("{s:s, s:o}", "kind", tokens ? "APITokenList" : "SessionList",
                                                  "items", items),
                                NULL);
                return;
        }
        if (http_method_is(req, "DELETE") && item) {
                if (tokens ? !token_name_ok(item) : !hex_id(item)) {
                        rest_reply_status(c, 400, NULL, NULL,
                                          tokens ? "'%s' is not a token name (a-z, 0-9, '-', '.', '_', at most 63)"
                                                 : "'%s' is not a session id (8 to 64 hex digits, from sdflow "
                                                   "session list)",
                                          item);
                        return;
                }
                /* An administrator may revoke anyone's token: ?user=NAME. */
                char owner[MAX_USER + 1] = "";
                if (tokens && caller->admin && query && http_query_get(query, qlen, "user", owner, sizeof owner) > 0)
                        all = true;
                const char *whose = owner[0] ? owner : caller->user;
                int r = tokens ? credential_delete(f, kind, NULL, whose, item)
                               : credential_delete(f, kind, item, all ? NULL : caller->user, NULL);
                if (r < 0)
                        rest_reply_status(c, 500, NULL, NULL, "revoking failed: %s", strerror(-r));
                else if (r == 0)
                        rest_reply_status(c, 404, NULL, NULL, "no %s %s%s", kind, item,
                                          all ? "" : " of yours");
                else {
                        log_info("%s revoked %d %s(s) %s.", caller->user, r, kind, item);
                        rest_reply_json(c, 200, json_pack("{s:s, s:i}", "status", "revoked", "count", r), NULL);
                }
                return;
        }
        if (tokens && http_method_is(req, "POST") && !item) {
                if (fr->credential == FRONT_TOKEN) {
                        rest_reply_status(c, 403, NULL, NULL,
                                          "an API token cannot make another: log in, or use the local socket");
                        return;
                }
                json_error_t je;
                json_auto_t *in = json_loadb(body, len, 0, &je);
                const char *name = in ? json_string_value(json_object_get(in, "name")) : NULL;
                json_t *secs = in ? json_object_get(in, "expirationSeconds") : NULL;
                if (!in || !json_is_object(in)) {
                        rest_reply_status(c, 400, NULL, NULL, "the body is not a JSON object: %s", je.text);
                        return;
                }
                if (!name || !token_name_ok(name)) {
                        rest_reply_status(c, 400, NULL, NULL,
                                          "name: a token name is required (a-z, 0-9, '-', '.', '_', at most 63)");
                        return;
                }
                int64_t max = (int64_t) (f->s.token_max_lifetime_usec / USEC_PER_SEC);
                int64_t life = (int64_t) (f->s.token_lifetime_usec / USEC_PER_SEC);
                if (secs && (!json_is_integer(secs) || json_integer_value(secs) <= 0 ||
                             json_integer_value(secs) > max)) {
                        rest_reply_status(c, 400, NULL, NULL,
                                          "expirationSeconds: a whole number of seconds from 1 to %lld "
                                          "(APITokenMaxLifetimeSec=)",
                                          (long long) max);
                        return;
                }
                if (secs)
                        life = json_integer_value(secs);
                char secret[64];
                StoreCredential sc = { .created = now_sec() };
                int r = secret_new(TOKEN_PREFIX, secret, sizeof secret);
                if (r >= 0)
                        r = sha256_hex(secret, strlen(secret), sc.sha256);
                snprintf(sc.kind, sizeof sc.kind, "token");
                snprintf(sc.user, sizeof sc.user, "%s", caller->user);
                snprintf(sc.name, sizeof sc.name, "%s", name);
                snprintf(sc.address, sizeof sc.address, "%s", fr->address);
                sc.last_used = sc.created;
                sc.expires = sc.created + life;
                if (r >= 0)
                        r = store_credential_add(f->store, &sc);
                if (r == -EEXIST)
                        rest_reply_status(c, 409, NULL, NULL, "you have a token named %s already", name);
                else if (r < 0)
                        rest_reply_status(c, 500, NULL, NULL, "making the token failed: %s", strerror(-r));
                else {
                        log_info("%s made the API token %s (from %s).", caller->user, name, fr->address);
                        rest_reply_json(c, 201,
                                        json_pack("{s:s, s:s, s:s, s:I}", "kind", "APIToken", "name", name, "token",
                                                  secret, "expires", (json_int_t) sc.expires),
                                        NULL);
                }
                explicit_bzero(secret, sizeof secret);
                return;
        }
        rest_reply_status(c, 405, NULL, NULL, "%.*s is not allowed here", (int) req->method_len, req->method);
}

static bool path_is(const char *path, size_t len, const char *s) {
        return strlen(s) == len && memcmp(path, s, len) == 0;
}

bool frontdoor_handle(FrontDoor *f, HttpConn *c, const HttpMessage *req, const char *body, size_t body_len,
                      const Caller *caller, const FrontRequest *fr) {
        const char *path, *query;
        size_t len, qlen;
        http_target_split(req, &path, &len, &query, &qlen);
        bool get = http_method_is(req, "GET") || http_method_is(req, "HEAD");
        char item[128] = "";

        if (path_is(path, len, "/login")) {
                if (get) {
                        char next[256] = "/";
                        if (query && qlen > 0)
                                (void) form_field(query, qlen, "next", next, sizeof next);
                        if (caller && fr->credential == FRONT_SESSION)
                                redirect(c, next_is_local(next) ? next : "/", NULL);
                        else
                                reply_login_form(c, 200, NULL, next,
                                                 fr->credential == FRONT_SESSION ? CLEAR_COOKIE : NULL);
                } else if (http_method_is(req, "POST"))
                        handle_login(f, c, req, body, body_len, fr);
                else
                        rest_reply_status(c, 405, NULL, NULL, "use GET or POST on /login");
                return true;
        }
        if (path_is(path, len, "/logout")) {
                if (http_method_is(req, "POST"))
                        handle_logout(f, c, req, fr);
                else
                        rest_reply_status(c, 405, NULL, NULL, "use POST on /logout");
                return true;
        }
        if (path_is(path, len, "/")) {
                if (!get)
                        rest_reply_status(c, 405, NULL, NULL, "use GET on /");
                else if (!caller)
                        redirect(c, "/login", fr->credential != FRONT_NONE ? CLEAR_COOKIE : NULL);
                else
                        handle_landing(f, c, caller);
                return true;
        }
        bool sessions = path_is(path, len, "/api/sessions"), tokens = path_is(path, len, "/api/tokens");
        if (!sessions && !tokens) {
                if (len > 14 && memcmp(path, "/api/sessions/", 14) == 0 && len - 14 < sizeof item)
                        sessions = true, snprintf(item, sizeof item, "%.*s", (int) (len - 14), path + 14);
                else if (len > 12 && memcmp(path, "/api/tokens/", 12) == 0 && len - 12 < sizeof item)
                        tokens = true, snprintf(item, sizeof item, "%.*s", (int) (len - 12), path + 12);
        }
        bool whoami = path_is(path, len, "/api/whoami");
        if (!sessions && !tokens && !whoami)
                return false;
        if (!caller) {
                rest_reply_status(c, 401, NULL, NULL, "%s",
                                  fr->why[0] ? fr->why
                                             : "log in (POST /login) or give an API token (Authorization: Bearer)");
                return true;
        }
        if (whoami) {
                if (get)
                        handle_whoami(f, c, caller, fr);
                else
                        rest_reply_status(c, 405, NULL, NULL, "use GET on /api/whoami");
                return true;
        }
        handle_credentials(f, c, req, body, body_len, caller, fr, tokens, item[0] ? item : NULL);
        return true;
}
