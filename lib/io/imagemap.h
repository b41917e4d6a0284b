/* imagemap.h: which root filesystem a container image runs on.
 *
 * Containers name images (python:3.11, ghcr.io/org/server:1); sdflow runs
 * no container engine, so an image map says what each means on this host
 * (/etc/sdflow/images.conf, see sdflow-images(5)).  One rule per line,
 * the first whose pattern (fnmatch(3), on the whole reference) matches wins:
 *
 *   PATTERN  host                 the host's own root (read-only)
 *   PATTERN  directory /srv/root  that tree as the root (RootDirectory=)
 *   PATTERN  image /srv/img.raw   that disk image as the root (RootImage=)
 *
 * Any rule may end with "bind SRC:DST" (up to IMAGE_MAX_BINDS times): the
 * host's SRC appears read-only at DST in the root, for what an image would
 * have carried (a program under /opt, say).  Pipeline steps and trials
 * get them (BindReadOnlyPaths=).
 *
 * '#' starts a comment.  An image no rule matches is an error that names
 * the image and the map. */
#pragma once

#include <stddef.h>

typedef enum ImageKind {
        IMAGE_HOST,
        IMAGE_DIRECTORY,
        IMAGE_DISK,
} ImageKind;

#define IMAGE_MAX_BINDS 4

typedef struct ImageRoot {
        ImageKind kind;
        char path[512]; /* for IMAGE_DIRECTORY and IMAGE_DISK */
        size_t n_binds;
        char bind_src[IMAGE_MAX_BINDS][256], bind_dst[IMAGE_MAX_BINDS][256];
} ImageRoot;

/* Looks image up in the map at path.  Returns 0 and fills *ret, -ENOENT
 * when no rule matches, -EBADMSG for a malformed map (err names the line),
 * or another negative errno when the map cannot be read. */
int imagemap_lookup(const char *path, const char *image, ImageRoot *ret, char *err, size_t errsz);

/* Calls fn for each rule of the map at path, in order, until it returns
 * > 0.  Returns 0 when fn stopped, -ENOENT when no call did, -EBADMSG for
 * a malformed line (err names it), or another negative errno when the map
 * cannot be read. */
typedef int (*ImageRuleFn)(const char *pattern, const ImageRoot *root, void *userdata);
int imagemap_foreach(const char *path, ImageRuleFn fn, void *userdata, char *err, size_t errsz);
