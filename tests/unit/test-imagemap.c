/* test-imagemap.c: image references to roots, first match wins. */
#include <errno.h>
#include <unistd.h>

#include "imagemap.h"
#include "test.h"

static char path[] = "/tmp/test-imagemap-XXXXXX";

static void write_map(const char *text) {
        FILE *f = fopen(path, "we");
        fputs(text, f);
        fclose(f);
}

int main(void) {
        ImageRoot r;
        char err[512];
        int fd = mkstemp(path);
        close(fd);
        write_map("# comment\n"
                  "python:*            host   # the host's python3\n"
                  "\n"
                  "ghcr.io/org/*:1     image /srv/img.raw\n"
                  "ubuntu:2?.04        directory /srv/ubuntu\n"
                  "*                   directory /srv/fallback\n");
        CHECK_EQ_INT(imagemap_lookup(path, "python:3.11", &r, err, sizeof err), 0);
        CHECK_EQ_INT(r.kind, IMAGE_HOST);
        CHECK_EQ_INT(imagemap_lookup(path, "ghcr.io/org/server:1", &r, err, sizeof err), 0);
        CHECK_EQ_INT(r.kind, IMAGE_DISK);
        CHECK_STREQ(r.path, "/srv/img.raw");
        CHECK_EQ_INT(imagemap_lookup(path, "ubuntu:22.04", &r, err, sizeof err), 0);
        CHECK_EQ_INT(r.kind, IMAGE_DIRECTORY);
        CHECK_STREQ(r.path, "/srv/ubuntu");
        CHECK_EQ_INT(imagemap_lookup(path, "nginx:1", &r, err, sizeof err), 0);
        CHECK_STREQ(r.path, "/srv/fallback");

        /* Binds: what the image would have carried, from the host. */
        write_map("trainer:* host bind /usr/lib/sdflow/examples/mnist:/opt/mnist bind /srv/data:/data\n"
                  "bad:* host bind relative:/opt\n");
        CHECK_EQ_INT(imagemap_lookup(path, "trainer:1", &r, err, sizeof err), 0);
        CHECK_EQ_INT(r.kind, IMAGE_HOST);
        CHECK_EQ_INT(r.n_binds, 2);
        CHECK_STREQ(r.bind_src[0], "/usr/lib/sdflow/examples/mnist");
        CHECK_STREQ(r.bind_dst[1], "/data");
        CHECK_EQ_INT(imagemap_lookup(path, "bad:1", &r, err, sizeof err), -EBADMSG);
        CHECK(strstr(err, ":2: expected") != NULL);

        write_map("python:* host\n");
        CHECK_EQ_INT(imagemap_lookup(path, "nginx:1", &r, err, sizeof err), -ENOENT);
        CHECK(strstr(err, "image 'nginx:1' is not in the image map") != NULL);
        CHECK(strstr(err, path) != NULL);

        /* Malformed rules name their line; a relative root is one. */
        write_map("python:* host\nbad:* directory relative/path\n");
        CHECK_EQ_INT(imagemap_lookup(path, "bad:1", &r, err, sizeof err), -EBADMSG);
        CHECK(strstr(err, ":2: expected") != NULL);
        write_map("x host extra\n");
        CHECK_EQ_INT(imagemap_lookup(path, "x", &r, err, sizeof err), -EBADMSG);
        write_map("x tarball /a\n");
        CHECK_EQ_INT(imagemap_lookup(path, "x", &r, err, sizeof err), -EBADMSG);

        unlink(path);
        CHECK_EQ_INT(imagemap_lookup(path, "x", &r, err, sizeof err), -ENOENT);
        CHECK(strstr(err, "cannot read the image map") != NULL);
        return test_summary("test-imagemap");
}
