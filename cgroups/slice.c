/* slice.c: see slice.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "slice.h"

bool dns1123_label_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

int unit_name_escape(const char *s, char *buf, size_t size) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;
        for (size_t i = 0; s[i]; i++) {
                unsigned char c = (unsigned char) s[i];
                bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == ':' || c == '_' || (c == '.' && i > 0);
                if (keep) {
                        if (o + 1 >= size)
                                return -ENOBUFS;
                        buf[o++] = (char) c;
                } else {
                        if (o + 4 >= size)
                                return -ENOBUFS;
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 15];
                }
        }
        if (o >= size)
                return -ENOBUFS;
        buf[o] = '\0';
        return (int) o;
}

int ns_slice_name(const char *ns, char *buf, size_t size) {
        char esc[256];
        if (!dns1123_label_is_valid(ns))
                return -EINVAL;
        if (unit_name_escape(ns, esc, sizeof esc) < 0)
                return -ENOBUFS;
        int n = snprintf(buf, size, "sdflow-%s.slice", esc);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

int ns_slice_cgroup(const char *ns, char *buf, size_t size) {
        char slice[300];
        int r = ns_slice_name(ns, slice, sizeof slice);
        if (r < 0)
                return r;
        int n = snprintf(buf, size, SDFLOW_SLICE "/%s", slice);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

static FILE *cgroup_open(const char *root, const char *cgroup, const char *file) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/%s/%s", root ?: "/sys/fs/cgroup", cgroup, file);
        if (n < 0 || (size_t) n >= sizeof path) {
                errno = ENAMETOOLONG;
                return NULL;
        }
        return fopen(path, "re");
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        if (strncmp(s, "max", 3) == 0 && (s[3] == '\0' || s[3] == '\n')) {
                *ret = UINT64_MAX;
                return 0;
        }
        errno = 0;
        uint64_t v = strtoull(s, &end, 10);
        if (errno || end == s || (*end && *end != '\n'))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int cgroup_read_u64(const char *root, const char *cgroup, const char *file, uint64_t *ret) {
        char line[128];
        _cleanup_fclose_ FILE *f = cgroup_open(root, cgroup, file);
        if (!f)
                return -errno;
        return fgets(line, sizeof line, f) ? parse_u64(line, ret) : -ENODATA;
}

int cgroup_read_key(const char *root, const char *cgroup, const char *file, const char *key, uint64_t *ret) {
        char line[256];
        size_t kn = strlen(key);
        int r = -ENODATA;
        _cleanup_fclose_ FILE *f = cgroup_open(root, cgroup, file);
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, kn) == 0 && line[kn] == ' ') {
                        r = parse_u64(line + kn + 1, ret);
                        break;
                }
        return r;
}

void ns_user_name(const char *ns, char *buf, size_t size) {
        if (strlen("sdflow-") + strlen(ns) <= 32) {
                snprintf(buf, size, "sdflow-%s", ns);
                return;
        }
        uint32_t h = 2166136261u; /* FNV-1a */
        for (const char *p = ns; *p; p++)
                h = (h ^ (unsigned char) *p) * 16777619u;
        snprintf(buf, size, "sdflow-%.16s-%08x", ns, h);
}

int ns_of_slice(const char *slice, char *buf, size_t size) {
        size_t n = strlen(slice), o = 0;
        if (n < strlen("sdflow-.slice") || strncmp(slice, "sdflow-", 7) != 0 || strcmp(slice + n - 6, ".slice") != 0)
                return -EINVAL;
        for (size_t i = 7; i < n - 6; i++) {
                char c = slice[i];
                if (c == '\\') {
                        /* Only what unit_name_escape() makes: \xNN, lower-case hex. */
                        unsigned v;
                        if (i + 4 > n - 6 || slice[i + 1] != 'x' || sscanf(slice + i + 2, "%2x", &v) != 1)
                                return -EINVAL;
                        c = (char) v;
                        i += 3;
                }
                if (o + 1 >= size)
                        return -EINVAL;
                buf[o++] = c;
        }
        buf[o] = '\0';
        /* The one spelling ns_slice_name() gives it, nothing else. */
        char again[300];
        if (ns_slice_name(buf, again, sizeof again) < 0 || strcmp(again, slice) != 0)
                return -EINVAL;
        return 0;
}
