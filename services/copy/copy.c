/* sdflow-copy: copies one regular file to standard output, for the
 * privileged helper that copies models (sdflow-ns model), which runs it as
 * the user whose read access counts and redirects its output into the
 * namespace.
 *
 *   sdflow-copy --max-bytes N SRC > DST
 *
 * Only a regular file is copied: a FIFO, socket or device (directly or
 * behind a link) is refused at once, never waited on; so is a file larger
 * than N bytes.  Holes stay holes (SEEK_DATA/SEEK_HOLE), so a sparse file
 * takes no more room in the copy than in the original.  Exit status: 0
 * copied, 2 usage, 3 refused (the reason on standard error), 4 I/O error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *type_name(mode_t m) {
        return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) ? "a character device"
               : S_ISBLK(m) ? "a block device" : S_ISDIR(m) ? "a directory" : "not a regular file";
}

/* Copies [off, off + len) of in to the same offset of out. */
static int copy_range(int in, int out, off_t off, off_t len) {
        char buf[1 << 16];
        while (len > 0) {
                ssize_t n = pread(in, buf, (size_t) (len < (off_t) sizeof buf ? len : (off_t) sizeof buf), off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO; /* shorter than it said */
                for (ssize_t w = 0; w < n;) {
                        ssize_t k = pwrite(out, buf + w, (size_t) (n - w), off + w);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                return k < 0 ? -errno : -EIO;
                        w += k;
                }
                off += n;
                len -= n;
        }
        return 0;
}

int main(int argc, char **argv) {
        unsigned long long max = ULLONG_MAX;
        static const struct option opts[] = { { "max-bytes", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' }, {} };
        int o;
        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (o) {
                case 'm': {
                        char *end;
                        errno = 0;
                        max = strtoull(optarg, &end, 10);
                        if (errno || *end || !*optarg) {
                                fprintf(stderr, "sdflow-copy: --max-bytes: '%s' is not a number of bytes\n", optarg);
                                return 2;
                        }
                        break;
                }
                case 'h':
                        printf("usage: sdflow-copy [--max-bytes N] SRC > DST\n");
                        return 0;
                default:
                        return 2;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "usage: sdflow-copy [--max-bytes N] SRC > DST\n");
                return 2;
        }
        const char *src = argv[optind];
        /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
        int in = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (in < 0) {
                fprintf(stderr, "sdflow-copy: cannot read %s: %s\n", src, strerror(errno));
                return errno == EACCES || errno == ENOENT || errno == ELOOP ? 3 : 4;
        }
        struct stat st, ost;
        if (fstat(in, &st) < 0) {
                fprintf(stderr, "sdflow-copy: %s: %s\n", src, strerror(errno));
                return 4;
        }
        if (!S_ISREG(st.st_mode)) {
                fprintf(stderr, "sdflow-copy: %s is %s; only a regular file is copied\n", src, type_name(st.st_mode));
                return 3;
        }
        if ((unsigned long long) st.st_size > max) {
                fprintf(stderr, "sdflow-copy: %s is %lld bytes, more than the limit of %llu bytes\n", src,
                        (long long) st.st_size, max);
                return 3;
        }
        if (fstat(STDOUT_FILENO, &ost) < 0 || !S_ISREG(ost.st_mode)) {
                fprintf(stderr, "sdflow-copy: standard output must be a regular file\n");
                return 2;
        }
        (void) fcntl(in, F_SETFL, fcntl(in, F_GETFL) & ~O_NONBLOCK);
        int out = STDOUT_FILENO;
        if (ftruncate(out, 0) < 0) {
                fprintf(stderr, "sdflow-copy: cannot truncate the output: %s\n", strerror(errno));
                return 4;
        }
        /* The data extents only; the holes between them stay holes. */
        off_t off = 0, end = st.st_size;
        int r = 0;
        while (off < end && r == 0) {
                off_t data = lseek(in, off, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO)
                                break; /* only a hole is left */
                        data = off;    /* no SEEK_DATA here: copy it all */
                }
                off_t hole = lseek(in, data, SEEK_HOLE);
                if (hole < 0 || hole > end)
                        hole = end;
                r = copy_range(in, out, data, hole - data);
                off = hole;
        }
        if (r == 0 && ftruncate(out, end) < 0)
                r = -errno;
        if (r < 0) {
                fprintf(stderr, "sdflow-copy: copying %s failed: %s\n", src, strerror(-r));
                return 4;
        }
        return 0;
}
