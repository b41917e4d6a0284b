/* login-parse.c: see login-parse.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "login-parse.h"
#include "macro.h"

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes s[0..n) (form encoding) into out; the length or a negative errno. */
static int form_decode(const char *s, size_t n, char *out, size_t size) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (ch == '+')
                        ch = ' ';
                else if (ch == '%') {
                        if (i + 2 >= n)
                                return -EBADMSG;
                        int hi = hexval(s[i + 1]);
                        int lo = hexval(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EBADMSG;
                        ch = (char) (hi * 16 + lo);
                        i += 2;
                }
                if (ch == '\0')
                        return -EBADMSG;
                if (o + 1 >= size)
                        return -E2BIG;
                out[o++] = ch;
        }
        out[o] = '\0';
        return (int) o;
}

int form_field(const char *body, size_t len, const char *name, char *out, size_t size) {
        size_t nl = strlen(name);
        const char *p = body, *end = body + len;
        if (size == 0)
                return -E2BIG;
        while (p < end) {
                const char *amp = memchr(p, '&', (size_t) (end - p));
                const char *stop = amp ? amp : end;
                const char *eq = memchr(p, '=', (size_t) (stop - p));
                size_t kl = (size_t) ((eq ? eq : stop) - p);
                if (kl == nl && memcmp(p, name, nl) == 0)
                        return eq ? form_decode(eq + 1, (size_t) (stop - eq - 1), out, size)
                                  : (out[0] = '\0', 0);
                p = stop + 1;
        }
        return -ENOENT;
}

int cookie_find(const HttpMessage *req, const char *name, char *out, size_t size) {
        size_t nl = strlen(name);
        for (size_t i = 0; i < req->n_headers; i++) {
                const HttpHeader *h = &req->headers[i];
                if (h->name_len != 6 || strncasecmp(h->name, "cookie", 6) != 0)
                        continue;
                const char *p = h->value, *end = h->value + h->value_len;
                while (p < end) {
                        while (p < end && (*p == ' ' || *p == '\t'))
                                p++;
                        const char *semi = memchr(p, ';', (size_t) (end - p));
                        const char *stop = semi ? semi : end;
                        const char *eq = memchr(p, '=', (size_t) (stop - p));
                        if (eq && (size_t) (eq - p) == nl && memcmp(p, name, nl) == 0) {
                                const char *v = eq + 1;
                                size_t vl = (size_t) (stop - v);
                                while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                                        vl--;
                                if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
                                        v++, vl -= 2;
                                if (vl + 1 > size)
                                        return -E2BIG;
                                memcpy(out, v, vl);
                                out[vl] = '\0';
                                return 1;
                        }
                        p = stop + 1;
                }
        }
        return 0;
}

static bool b64url_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool secret_well_formed(const char *s, const char *prefix) {
        size_t pl = strlen(prefix);
        if (strncmp(s, prefix, pl) != 0 || strlen(s) != pl + LOGIN_SECRET_CHARS)
                return false;
        for (const char *p = s + pl; *p; p++)
                if (!b64url_char(*p))
                        return false;
        return true;
}

int secret_new(const char *prefix, char *out, size_t size) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        unsigned char raw[LOGIN_SECRET_BYTES + 1] = {};
        size_t pl = strlen(prefix);
        if (size < pl + LOGIN_SECRET_CHARS + 1)
                return -ENOBUFS;
        if (getrandom(raw, LOGIN_SECRET_BYTES, 0) != LOGIN_SECRET_BYTES)
                return -errno ?: -EIO;
        memcpy(out, prefix, pl);
        char *o = out + pl;
        /* 32 bytes: ten groups of 3 (40 characters) and 2 bytes more (3). */
        size_t i = 0;
        for (; i + 3 <= LOGIN_SECRET_BYTES; i += 3) {
                uint32_t v = (uint32_t) raw[i] << 16 | (uint32_t) raw[i + 1] << 8 | raw[i + 2];
                *o++ = alphabet[(v >> 18) & 63];
                *o++ = alphabet[(v >> 12) & 63];
                *o++ = alphabet[(v >> 6) & 63];
                *o++ = alphabet[v & 63];
        }
        uint32_t v = (uint32_t) raw[i] << 16 | (uint32_t) raw[i + 1] << 8;
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o = '\0';
        explicit_bzero(raw, sizeof raw);
        return 0;
}

char *html_escape(const char *s) {
        size_t n = 0;
        for (const char *p = s; *p; p++)
                n += strchr("&<>\"'", *p) ? 6 : 1;
        char *out = malloc(n + 1), *o = out;
        if (!out)
                return NULL;
        for (const char *p = s; *p; p++)
                switch (*p) {
                case '&': memcpy(o, "&amp;", 5), o += 5; break;
                case '<': memcpy(o, "&lt;", 4), o += 4; break;
                case '>': memcpy(o, "&gt;", 4), o += 4; break;
                case '"': memcpy(o, "&quot;", 6), o += 6; break;
                case '\'': memcpy(o, "&#39;", 5), o += 5; break;
                default: *o++ = *p;
                }
        *o = '\0';
        return out;
}

bool next_is_local(const char *next) {
        if (next[0] != '/' || next[1] == '/' || next[1] == '\\')
                return false;
        for (const char *p = next; *p; p++)
                if ((unsigned char) *p < 0x21 || *p == 0x7f || *p == '\\')
                        return false;
        return true;
}

/* ---- back-off ------------------------------------------------------------------ */

void address_key(const char *addr, char *out, size_t size) {
        struct in6_addr a6;
        char text[INET6_ADDRSTRLEN];
        if (strchr(addr, ':') && inet_pton(AF_INET6, addr, &a6) == 1) {
                memset(a6.s6_addr + 8, 0, 8);
                if (inet_ntop(AF_INET6, &a6, text, sizeof text)) {
                        snprintf(out, size, "address %s/64", text);
                        return;
                }
        }
        snprintf(out, size, "address %s", addr);
}

void backoff_init(Backoff *b) {
        if (getrandom(&b->seed, sizeof b->seed, 0) != sizeof b->seed)
                b->seed = (uint32_t) (uintptr_t) b ^ 0x9e3779b9u; /* no entropy: at least not a constant */
}

/* SipHash would be better still; FNV-1a over the seed and the key, with a
 * final mix, is enough against keys chosen offline. */
static unsigned key_hash(const Backoff *b, const char *key) {
        uint32_t h = 2166136261u ^ b->seed;
        for (const unsigned char *p = (const unsigned char *) key; *p; p++)
                h = (h ^ *p) * 16777619u;
        h ^= h >> 16;
        h *= 0x85ebca6bu;
        h ^= h >> 13;
        h *= 0xc2b2ae35u;
        h ^= h >> 16;
        return h % BACKOFF_SLOTS;
}

static BackoffEntry *entry_find(Backoff *b, const char *key) {
        unsigned h = key_hash(b, key);
        for (unsigned i = 0; i < BACKOFF_PROBE; i++) {
                BackoffEntry *e = &b->slots[(h + i) % BACKOFF_SLOTS];
                if (e->key[0] && strncmp(e->key, key, sizeof e->key - 1) == 0)
                        return e;
        }
        return NULL;
}

bool backoff_held(const Backoff *b, const char *key, uint64_t now, uint64_t *wait) {
        const BackoffEntry *e = entry_find((Backoff *) b, key);
        *wait = 0;
        if (!e || now >= e->until)
                return false;
        *wait = e->until - now;
        return true;
}

unsigned backoff_fail(Backoff *b, const char *key, uint64_t now) {
        BackoffEntry *e = entry_find(b, key);
        if (!e) {
                /* An empty slot near its place, or the one seen longest ago. */
                unsigned h = key_hash(b, key);
                for (unsigned i = 0; i < BACKOFF_PROBE; i++) {
                        BackoffEntry *c = &b->slots[(h + i) % BACKOFF_SLOTS];
                        if (!c->key[0] || now >= c->until) {
                                if (!e || !c->key[0] || c->last < e->last)
                                        e = c;
                                if (!c->key[0])
                                        break;
                        }
                }
                if (!e) /* every one of them on hold: the one seen longest ago goes */
                        for (unsigned i = 0; i < BACKOFF_PROBE; i++) {
                                BackoffEntry *c = &b->slots[(h + i) % BACKOFF_SLOTS];
                                if (!e || c->last < e->last)
                                        e = c;
                        }
                *e = (BackoffEntry) { .first = now };
                strncpy(e->key, key, sizeof e->key - 1);
        }
        /* Forgotten only after a long quiet, and never while on hold: a
         * guesser who waits out each hold keeps doubling it. */
        if (e->count > 0 && now - e->last > BACKOFF_FORGET_USEC && now >= e->until) {
                e->first = now;
                e->count = 0;
        }
        e->count++;
        e->last = now;
        if (e->count > BACKOFF_FREE) {
                unsigned k = e->count - BACKOFF_FREE - 1;
                uint64_t hold = k >= 20 ? BACKOFF_MAX_USEC : MIN(1000000ULL << k, BACKOFF_MAX_USEC);
                e->until = now + hold;
        }
        return e->count;
}

void backoff_clear(Backoff *b, const char *key) {
        BackoffEntry *e = entry_find(b, key);
        if (e)
                *e = (BackoffEntry) {};
}
