/* slice.c: see slice.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        FILE *f = cgroup_open(root, cgroup, file);
        if (!f)
                return -errno;
        int r = fgets(line, sizeof line, f) ? parse_u64(line, ret) : -ENODATA;
        fclose(f);
        return r;
}

int cgroup_read_key(const char *root, const char *cgroup, const char *file, const char *key, uint64_t *ret) {
        char line[256];
        size_t kn = strlen(key);
        int r = -ENODATA;
        FILE *f = cgroup_open(root, cgroup, file);
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, kn) == 0 && line[kn] == ' ') {
                        r = parse_u64(line + kn + 1, ret);
                        break;
                }
        fclose(f);
        return r;
}
