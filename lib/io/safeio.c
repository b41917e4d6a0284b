/* safeio.c: see safeio.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "safeio.h"

int safe_open_beneath(const char *base, const char *rel) {
        char buf[4096];
        if (!rel || !*rel || strlen(rel) >= sizeof buf)
                return -EINVAL;
        snprintf(buf, sizeof buf, "%s", rel);
        _cleanup_close_ int dir = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        char *save = NULL, *comp = strtok_r(buf, "/", &save);
        if (rel[0] == '/' || strstr(rel, "//"))
                return -EINVAL;
        while (comp) {
                char *next = strtok_r(NULL, "/", &save);
                if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
                        return -EINVAL;
                int fd = next ? openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                              : openat(dir, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                int saved = errno;
                dir = safe_close(dir);
                if (fd < 0)
                        /* O_NOFOLLOW on a link gives ELOOP; O_DIRECTORY on one ENOTDIR */
                        return -(saved == ENOTDIR ? ELOOP : saved);
                dir = fd;
                comp = next;
        }
        struct stat st;
        if (fstat(dir, &st) < 0 || !S_ISREG(st.st_mode))
                return -EBADFD;
        /* A second name for a file: perhaps a hard link the workload made
         * to a file it may not read (where fs.protected_hardlinks is 0). */
        if (st.st_nlink > 1)
                return -EMLINK;
        (void) fcntl(dir, F_SETFL, fcntl(dir, F_GETFL) & ~O_NONBLOCK);
        return TAKE_FD(dir);
}

int safe_read_beneath(const char *base, const char *rel, char *buf, size_t size, size_t *len) {
        _cleanup_close_ int fd = safe_open_beneath(base, rel);
        if (len)
                *len = 0;
        if (size == 0)
                return -EINVAL;
        buf[0] = '\0';
        if (fd < 0)
                return fd;
        size_t n = 0;
        while (n + 1 < size) {
                ssize_t k = read(fd, buf + n, size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        if (len)
                *len = n;
        return 0;
}

bool safe_exists_beneath(const char *base, const char *rel) {
        _cleanup_close_ int fd = safe_open_beneath(base, rel);
        return fd >= 0;
}

const char *safe_rel(const char *base, const char *path) {
        size_t n = strlen(base);
        if (!path || strncmp(path, base, n) != 0 || path[n] != '/')
                return NULL;
        return path + n + 1;
}
