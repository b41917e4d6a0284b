/* imagemap.c: see imagemap.h. */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imagemap.h"
#include "macro.h"

int imagemap_foreach(const char *path, ImageRuleFn fn, void *userdata, char *err, size_t errsz) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        unsigned n = 0;
        int r = -ENOENT;
        if (!f) {
                r = -errno;
                snprintf(err, errsz, "cannot read the image map %s: %s", path, strerror(errno));
                return r;
        }
        while (getline(&line, &cap, f) >= 0) {
                char *save = NULL, *hash = strchr(line, '#');
                n++;
                if (hash)
                        *hash = '\0';
                char *pattern = strtok_r(line, " \t\r\n", &save);
                if (!pattern)
                        continue;
                char *kind = strtok_r(NULL, " \t\r\n", &save);
                char *root = kind && strcmp(kind, "host") != 0 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
                ImageRoot x = {};
                bool ok = true;
                if (kind && strcmp(kind, "host") == 0)
                        x.kind = IMAGE_HOST;
                else if (kind && (strcmp(kind, "directory") == 0 || strcmp(kind, "image") == 0) && root && root[0] == '/' &&
                         strlen(root) < sizeof x.path) {
                        x.kind = kind[0] == 'd' ? IMAGE_DIRECTORY : IMAGE_DISK;
                        snprintf(x.path, sizeof x.path, "%s", root);
                } else
                        ok = false;
                /* bind SRC:DST ... */
                for (char *w; ok && (w = strtok_r(NULL, " \t\r\n", &save));) {
                        char *pair = strtok_r(NULL, " \t\r\n", &save), *colon = pair ? strchr(pair, ':') : NULL;
                        if (strcmp(w, "bind") != 0 || !colon || pair[0] != '/' || colon[1] != '/' ||
                            x.n_binds >= IMAGE_MAX_BINDS || (size_t) (colon - pair) >= sizeof x.bind_src[0] ||
                            strlen(colon + 1) >= sizeof x.bind_dst[0]) {
                                ok = false;
                                break;
                        }
                        snprintf(x.bind_src[x.n_binds], sizeof x.bind_src[0], "%.*s", (int) (colon - pair), pair);
                        snprintf(x.bind_dst[x.n_binds], sizeof x.bind_dst[0], "%s", colon + 1);
                        x.n_binds++;
                }
                if (!ok) {
                        snprintf(err, errsz, "%s:%u: expected 'PATTERN host', 'PATTERN directory /PATH' or "
                                             "'PATTERN image /PATH', each optionally followed by 'bind /SRC:/DST'",
                                 path, n);
                        r = -EBADMSG;
                        break;
                }
                if (fn(pattern, &x, userdata) > 0) {
                        r = 0;
                        break;
                }
        }
        return r;
}

typedef struct Lookup {
        const char *image;
        ImageRoot *ret;
        bool read; /* the map was read (a missing file is -ENOENT too) */
} Lookup;

static int lookup_one(const char *pattern, const ImageRoot *root, void *userdata) {
        Lookup *l = userdata;
        l->read = true;
        if (fnmatch(pattern, l->image, 0) != 0)
                return 0;
        *l->ret = *root;
        return 1;
}

int imagemap_lookup(const char *path, const char *image, ImageRoot *ret, char *err, size_t errsz) {
        Lookup l = { image, ret, false };
        int r = imagemap_foreach(path, lookup_one, &l, err, errsz);
        if (r == -ENOENT && (l.read || access(path, R_OK) == 0))
                snprintf(err, errsz, "image '%s' is not in the image map %s: add a rule for it (see sdflow-images(5))",
                         image, path);
        return r;
}
