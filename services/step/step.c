/* sdflow-step: runs one pipeline step inside its transient unit, as the
 * namespace's user, and does what Argo's executor does around the user's
 * command: places the input artifacts, keeps stdout (the step's
 * outputs.result) while passing it on to the journal, and after the command
 * copies the output parameters and artifacts out of the step's private /tmp
 * into the node's directory, with a SHA-256 of each artifact (for caching).
 *
 *   sdflow-step --dir NODEDIR [--in HOSTPATH=PATH]... [--param NAME=PATH]...
 *               [--optional-param NAME=PATH]... [--artifact NAME=PATH]...
 *               [--optional-artifact NAME=PATH]...
 *               [--source TEXT] -- COMMAND [ARGS...]
 *
 * NODEDIR gets: started (when the command starts), stdout (written as it
 * comes, at most 256 KiB), result (the same, without its last newline), parameters/NAME, artifacts/NAME (a file or a tree), digests
 * ("NAME HEX" lines), message (what went wrong, one line) and exit (the
 * exit status, written last).  With --source, TEXT is written to a file in
 * /tmp that is appended to the command (a script template).
 *
 * Exit status: the command's; 127 when it cannot be run; 128+N when it was
 * killed by signal N; 64 when the command succeeded but a required output
 * is missing; 70 for a failure of sdflow-step itself. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest.h"
#include "macro.h"

#define RESULT_MAX (256 * 1024)
#define MAX_IO 256
#define EXIT_MISSING 64
#define EXIT_INTERNAL 70

typedef struct Pair {
        char *name, *path;
        bool optional;
} Pair;

static const char *node_dir;
static char message[1024];

static void set_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_message(const char *fmt, ...) {
        va_list ap;
        if (message[0])
                return; /* the first problem is the one to tell */
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
        fprintf(stderr, "sdflow-step: %s\n", message);
}

static int write_file(const char *dir, const char *name, const char *data, size_t len) {
        char path[4096], tmp[4200];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0)
                        return -errno; /* the cleanup keeps errno, which callers report */
                data += n;
                len -= (size_t) n;
        }
        if (close(TAKE_FD(fd)) < 0 || rename(tmp, path) < 0)
                return -errno;
        return 0;
}

static int mkdir_p(const char *path, mode_t mode) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int mkdir_parent(const char *path) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", path);
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf)
                return 0;
        *slash = '\0';
        return mkdir_p(buf, 0755);
}

/* An output parameter: the value in the file at src, read as the step's
 * user (a link is followed here, inside the step's own sandbox and with its
 * rights) and written to dst as a regular file of at most RESULT_MAX bytes,
 * so that sdflowd, which reads dst, never meets a link.  A FIFO or device
 * is refused, not waited on. */
static int copy_param(const char *src, const char *dst) {
        _cleanup_close_ int in = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        struct stat st;
        if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
                return -EINVAL;
        static char buf[RESULT_MAX];
        ssize_t n = read(in, buf, sizeof buf);
        int r = n < 0 ? -errno : 0;
        in = safe_close(in);
        if (r < 0)
                return r;
        (void) unlink(dst);
        _cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (out < 0)
                return -errno;
        if (write(out, buf, (size_t) n) != n)
                r = -EIO;
        return r;
}

/* Copies file or tree src to dst; feeds the digest with relative names and
 * contents, so a tree's digest does not depend on where it lies. */
static int copy_tree(const char *src, const char *dst, EVP_MD_CTX *md, const char *rel) {
        struct stat st;
        if (lstat(src, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode)) {
                _cleanup_free_ struct dirent **list = NULL;
                int n = scandir(src, &list, NULL, alphasort);
                if (n < 0)
                        return -errno;
                int r = 0;
                if (mkdir(dst, 0755) < 0 && errno != EEXIST)
                        r = -errno;
                for (int i = 0; i < n; i++) {
                        const char *e = list[i]->d_name;
                        if (r >= 0 && strcmp(e, ".") != 0 && strcmp(e, "..") != 0) {
                                char s[4096], d[4096], rl[4096];
                                snprintf(s, sizeof s, "%s/%s", src, e);
                                snprintf(d, sizeof d, "%s/%s", dst, e);
                                snprintf(rl, sizeof rl, "%s/%s", rel, e);
                                r = copy_tree(s, d, md, rl);
                        }
                        free(list[i]);
                }
                return r;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlink(src, target, sizeof target - 1);
                if (n < 0)
                        return -errno;
                target[n] = '\0';
                if (md) {
                        EVP_DigestUpdate(md, rel, strlen(rel) + 1);
                        EVP_DigestUpdate(md, target, (size_t) n + 1);
                }
                (void) unlink(dst);
                return symlink(target, dst) < 0 ? -errno : 0;
        }
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        _cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                                       (st.st_mode & 0111) ? 0755 : 0644);
        if (out < 0)
                return -errno;
        if (md)
                EVP_DigestUpdate(md, rel, strlen(rel) + 1);
        char buf[65536];
        int r = 0;
        for (;;) {
                ssize_t n = read(in, buf, sizeof buf);
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                if (md)
                        EVP_DigestUpdate(md, buf, (size_t) n);
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t) (n - off));
                        if (w < 0) {
                                r = -errno;
                                break;
                        }
                        off += w;
                }
                if (r < 0)
                        break;
        }
        in = safe_close(in);
        if (close(TAKE_FD(out)) < 0 && r == 0)
                r = -errno;
        return r;
}

static int parse_pair(const char *arg, Pair *p, bool optional) {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1])
                return -EINVAL;
        p->name = strndup(arg, (size_t) (eq - arg));
        p->path = strdup(eq + 1);
        p->optional = optional;
        return p->name && p->path ? 0 : -ENOMEM;
}

/* The system calls a pipeline step is refused (EPERM): systemd's @clock,
 * @cpu-emulation, @debug, @module, @mount, @obsolete, @raw-io, @reboot and
 * @swap groups, and kernel interfaces a batch job has no use for.  The unit
 * could ask systemd for SystemCallFilter=@system-service, but systemd
 * compiles that allow-list at every exec (~23 ms a step here, more than
 * the rest of a step's start); this deny-list compiles in well under a
 * millisecond.  The step also has no capabilities, no new privileges and no
 * namespaces of its own (the unit's settings). */
static const char *const denied[] = {
        "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64", "settimeofday",
        "stime", "modify_ldt", "subpage_prot", "switch_endian", "vm86", "vm86old", "lookup_dcookie",
        "perf_event_open", "pidfd_getfd", "ptrace", "rtas", "s390_runtime_instr", "sys_debug_setcontext",
        "process_vm_readv", "process_vm_writev", "kcmp", "delete_module", "finit_module", "init_module",
        "chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount",
        "open_tree", "pivot_root", "umount", "umount2", "_sysctl", "afs_syscall", "bdflush", "break",
        "create_module", "ftime", "get_kernel_syms", "getpmsg", "gtty", "idle", "lock", "mpx", "prof",
        "profil", "putpmsg", "query_module", "security", "sgetmask", "ssetmask", "stty", "sysfs", "tuxcall",
        "ulimit", "uselib", "ustat", "vserver", "ioperm", "iopl", "pciconfig_iobase", "pciconfig_read",
        "pciconfig_write", "kexec_file_load", "kexec_load", "reboot", "swapoff", "swapon", "bpf",
        "userfaultfd", "keyctl", "add_key", "request_key", "setns", "unshare", "acct", "quotactl",
        "quotactl_fd", "open_by_handle_at", "name_to_handle_at", "fanotify_init", "vhangup", "syslog",
        "nfsservctl", "io_uring_setup", "io_uring_enter", "io_uring_register",
};

/* seccomp_release() returns void; DEFINE_TRIVIAL_CLEANUP_FUNC needs the pointer back. */
static inline scmp_filter_ctx filter_release(scmp_filter_ctx ctx) {
        seccomp_release(ctx);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, filter_release);

static int confine(void) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        _cleanup_(filter_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; i < sizeof denied / sizeof denied[0] && r >= 0; i++) {
                int nr = seccomp_syscall_resolve_name(denied[i]);
                if (nr != __NR_SCMP_ERROR)
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        }
        if (r >= 0)
                r = seccomp_load(ctx);
        return r;
}

static void help(void) {
        printf("sdflow-step --dir NODEDIR [--in HOSTPATH=PATH]... [--param NAME=PATH]...\n"
               "            [--artifact NAME=PATH]... [--optional-artifact NAME=PATH]...\n"
               "            [--source TEXT] -- COMMAND [ARGS...]\n\n"
               "Runs one sdflow pipeline step (started by sdflowd in a transient unit).\n"
               "See sdflow-step(8).\n");
}

/* Runs argv with stdout through a pipe that is copied to ours and kept (in
 * part) as the result.  Returns the exit status to report. */
static int run_command(char **argv) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                set_message("cannot make a pipe: %m");
                return EXIT_INTERNAL;
        }
        pid_t pid = fork();
        if (pid < 0) {
                set_message("cannot fork: %m");
                return EXIT_INTERNAL;
        }
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                signal(SIGPIPE, SIG_DFL);
                execvp(argv[0], argv);
                int e = errno;
                fprintf(stderr, "sdflow-step: cannot run '%s': %s\n", argv[0], strerror(e));
                _exit(e == ENOENT ? 127 : 126);
        }
        close(pipefd[1]);
        char *result = malloc(RESULT_MAX + 1);
        size_t used = 0;
        /* The output as it comes, for whoever reads metrics while the step runs. */
        char live_path[4200];
        snprintf(live_path, sizeof live_path, "%s/stdout", node_dir);
        int live = open(live_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        char buf[16384];
        for (;;) {
                ssize_t n = read(pipefd[0], buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(STDOUT_FILENO, buf + off, (size_t) (n - off));
                        if (w <= 0)
                                break;
                        off += w;
                }
                /* All of it: Katib's collector reads the whole output (the
                 * objective may come after any number of lines). */
                if (live >= 0 && write(live, buf, (size_t) n) != n) {
                        close(live);
                        live = -1;
                }
                if (result && used < RESULT_MAX) {
                        size_t k = (size_t) n < RESULT_MAX - used ? (size_t) n : RESULT_MAX - used;
                        memcpy(result + used, buf, k);
                        used += k;
                }
        }
        if (live >= 0)
                close(live);
        close(pipefd[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        set_message("cannot wait for the command: %m");
                        free(result);
                        return EXIT_INTERNAL;
                }
        /* Argo's result drops the one trailing newline. */
        size_t keep = used;
        if (keep > 0 && result[keep - 1] == '\n')
                keep--;
        if (result && write_file(node_dir, "result", result, keep) < 0)
                set_message("cannot keep the step's output in %s: %m", node_dir);
        free(result);
        if (WIFSIGNALED(status)) {
                set_message("'%s' was killed by signal %d (%s)", argv[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
                return 128 + WTERMSIG(status);
        }
        int code = WEXITSTATUS(status);
        if (code == 127)
                set_message("'%s' cannot be run: no such command (exit status 127)", argv[0]);
        return code;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "dir", required_argument, NULL, 'd' },
                { "in", required_argument, NULL, 'i' },
                { "param", required_argument, NULL, 'p' },
                { "optional-param", required_argument, NULL, 'q' },
                { "artifact", required_argument, NULL, 'a' },
                { "optional-artifact", required_argument, NULL, 'o' },
                { "source", required_argument, NULL, 's' },
                { "spec-from-env", no_argument, NULL, 'e' },
                {},
        };
        bool from_env = false;
        static Pair ins[MAX_IO], params[MAX_IO], arts[MAX_IO];
        size_t n_in = 0, n_param = 0, n_art = 0;
        const char *source = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                int r = 0;
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'd':
                        node_dir = optarg;
                        break;
                case 'i':
                        r = n_in < MAX_IO ? parse_pair(optarg, &ins[n_in++], false) : -E2BIG;
                        break;
                case 'p':
                case 'q':
                        r = n_param < MAX_IO ? parse_pair(optarg, &params[n_param++], c == 'q') : -E2BIG;
                        break;
                case 'a':
                case 'o':
                        r = n_art < MAX_IO ? parse_pair(optarg, &arts[n_art++], c == 'o') : -E2BIG;
                        break;
                case 's':
                        source = optarg;
                        break;
                case 'e':
                        from_env = true;
                        break;
                default:
                        return 2;
                }
                if (r < 0) {
                        fprintf(stderr, "sdflow-step: bad argument '%s': %s\n", optarg, strerror(-r));
                        return 2;
                }
        }
        /* The command and script from the environment (SDFLOW_STEP_SPEC:
         * base64 of the source, then each argument, NUL-terminated), where
         * sdflowd puts them so that they are not in the unit's ExecStart=
         * nor in this process's command line for other users to read. */
        char **spec_argv = NULL, **cmdv = argv + optind;
        int cmdc = argc - optind;
        if (from_env) {
                const char *b64 = getenv("SDFLOW_STEP_SPEC");
                size_t bl = b64 ? strlen(b64) : 0;
                unsigned char *raw = bl ? malloc(bl / 4 * 3 + 4) : NULL;
                int n = raw ? EVP_DecodeBlock(raw, (const unsigned char *) b64, (int) bl) : -1;
                if (n > 0) /* EVP_DecodeBlock counts the padding's zero bytes too */
                        while (n > 0 && bl > 0 && b64[--bl] == '=')
                                n--;
                if (n <= 0) {
                        fprintf(stderr, "sdflow-step: --spec-from-env: SDFLOW_STEP_SPEC is missing or malformed\n");
                        return 2;
                }
                size_t count = 0;
                for (int k = 0; k < n; k++)
                        count += raw[k] == '\0';
                spec_argv = calloc(count + 1, sizeof *spec_argv);
                if (!spec_argv || count < 2 || raw[n - 1] != '\0') {
                        fprintf(stderr, "sdflow-step: --spec-from-env: SDFLOW_STEP_SPEC names no command\n");
                        return 2;
                }
                size_t k = 0;
                for (char *p = (char *) raw; p < (char *) raw + n; p += strlen(p) + 1)
                        spec_argv[k++] = p;
                source = spec_argv[0][0] ? spec_argv[0] : NULL;
                unsetenv("SDFLOW_STEP_SPEC"); /* not passed on to the command */
                cmdv = spec_argv + 1;
                cmdc = (int) count - 1;
        }
        if (!node_dir || cmdc < 1) {
                fprintf(stderr, "sdflow-step: give --dir and a command after --\n");
                return 2;
        }
        /* Readable by whoever passes the namespace's door (its user, owner and
         * contributors: sdflow-profile(5)), nobody else. */
        umask(0022);
        int r = mkdir_p(node_dir, 0755);
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/parameters", node_dir);
        if (r >= 0)
                r = mkdir_p(sub, 0755);
        snprintf(sub, sizeof sub, "%s/artifacts", node_dir);
        if (r >= 0)
                r = mkdir_p(sub, 0755);
        if (r < 0) {
                fprintf(stderr, "sdflow-step: cannot make %s: %s\n", node_dir, strerror(-r));
                return EXIT_INTERNAL;
        }
        /* A node run again (retry) starts clean. */
        static const char *const old[] = { "exit", "message", "result", "digests", "stdout" };
        for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
                char p[4200];
                snprintf(p, sizeof p, "%s/%s", node_dir, old[i]);
                (void) unlink(p);
        }
        (void) write_file(node_dir, "started", "", 0);

        int code = 0;
        for (size_t i = 0; i < n_in && code == 0; i++) {
                r = mkdir_parent(ins[i].path);
                if (r >= 0)
                        r = copy_tree(ins[i].name, ins[i].path, NULL, "");
                if (r < 0) {
                        set_message("cannot place the input artifact at %s: %s", ins[i].path, strerror(-r));
                        code = EXIT_INTERNAL;
                }
        }
        char **cmd = cmdv;
        _cleanup_free_ char **with_script = NULL; /* the array only: its strings live until the exit */
        if (code == 0 && source) {
                char script[] = "/tmp/sdflow-script-XXXXXX";
                _cleanup_close_ int fd = mkstemp(script);
                size_t len = strlen(source);
                if (fd < 0 || write(fd, source, len) != (ssize_t) len || fchmod(fd, 0700) < 0 ||
                    close(TAKE_FD(fd)) < 0) {
                        set_message("cannot write the script to /tmp: %m");
                        code = EXIT_INTERNAL;
                } else {
                        int n = cmdc;
                        with_script = calloc((size_t) n + 2, sizeof *with_script);
                        /* Without the script's path the command would run without its script. */
                        if (with_script)
                                with_script[n] = strdup(script);
                        if (!with_script || !with_script[n]) {
                                set_message("cannot run the script: out of memory");
                                code = EXIT_INTERNAL;
                        } else {
                                memcpy(with_script, cmd, (size_t) n * sizeof *cmd);
                                cmd = with_script;
                        }
                }
        }
        if (code == 0) {
                r = confine();
                if (r < 0) {
                        set_message("cannot install the step's system call filter: %s", strerror(-r));
                        code = EXIT_INTERNAL;
                }
        }
        if (code == 0) {
                fflush(stdout);
                code = run_command(cmd);
        }
        /* Outputs, also after a failure (Argo keeps what a failed step left). */
        char digests[MAX_IO * 100] = "";
        size_t dlen = 0;
        for (size_t i = 0; i < n_param; i++) {
                char dst[4200];
                snprintf(dst, sizeof dst, "%s/parameters/%s", node_dir, params[i].name);
                r = copy_param(params[i].path, dst);
                if (r < 0 && code == 0 && !params[i].optional) {
                        set_message("output parameter '%s': cannot read %s: %s", params[i].name, params[i].path,
                                    strerror(-r));
                        code = EXIT_MISSING;
                }
        }
        for (size_t i = 0; i < n_art; i++) {
                char dst[4200];
                snprintf(dst, sizeof dst, "%s/artifacts/%s", node_dir, arts[i].name);
                EVP_MD_CTX *md = EVP_MD_CTX_new();
                EVP_DigestInit_ex(md, EVP_sha256(), NULL);
                r = copy_tree(arts[i].path, dst, md, "");
                unsigned char h[EVP_MAX_MD_SIZE];
                unsigned hl = 0;
                EVP_DigestFinal_ex(md, h, &hl);
                EVP_MD_CTX_free(md);
                if (r < 0) {
                        if (!arts[i].optional && code == 0) {
                                set_message("output artifact '%s': cannot read %s: %s", arts[i].name, arts[i].path,
                                            strerror(-r));
                                code = EXIT_MISSING;
                        }
                        continue;
                }
                char hexd[2 * EVP_MAX_MD_SIZE + 1];
                hex_encode(h, hl, hexd);
                dlen += (size_t) snprintf(digests + dlen, sizeof digests - dlen, "%s %s", arts[i].name, hexd);
                if (dlen >= sizeof digests)
                        dlen = sizeof digests - 1;
                if (dlen + 2 < sizeof digests)
                        digests[dlen++] = '\n';
        }
        (void) write_file(node_dir, "digests", digests, dlen);
        if (message[0])
                (void) write_file(node_dir, "message", message, strlen(message));
        char ex[16];
        int n = snprintf(ex, sizeof ex, "%d", code);
        if (write_file(node_dir, "exit", ex, (size_t) n) < 0)
                fprintf(stderr, "sdflow-step: cannot record the exit status in %s: %m\n", node_dir);
        return code > 255 ? 255 : code;
}
