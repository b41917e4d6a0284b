/* sandbox.c: see sandbox.h. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "log.h"
#include "macro.h"
#include "sandbox.h"

static const char *const allowed[] = {
        /* serving */
        "read", "write", "readv", "writev", "recvfrom", "recvmsg", "sendto", "sendmsg", "accept4", "accept",
        "close", "shutdown", "getsockopt", "fcntl", "ioctl", "poll", "ppoll",
        /* sd-event */
        "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "timerfd_create", "timerfd_settime",
        "timerfd_gettime", "getsockname", "getpeername",
        "signalfd4", "rt_sigprocmask", "rt_sigreturn", "rt_sigaction", "clock_gettime", "clock_getres",
        "gettimeofday", "clock_nanosleep", "nanosleep", "getpid", "gettid", "getuid", "geteuid",
        /* memory */
        "brk", "mmap", "munmap", "mremap", "madvise", "futex", "set_robust_list", "rseq", "sched_yield",
        "getrandom", "fstat", "newfstatat", "lseek",
        /* leaving */
        "exit", "exit_group", "restart_syscall",
};

static const char *const fatal[] = {
        "execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "process_vm_readv",
        "process_vm_writev", "bpf", "mount", "umount2", "pivot_root", "chroot", "setns", "unshare",
        "init_module", "finit_module", "delete_module", "kexec_load", "reboot", "keyctl", "add_key",
        "request_key", "personality", "userfaultfd", "perf_event_open",
};

int sandbox_serve(void) {
        scmp_filter_ctx ctx;
        int r;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        cap_t none = cap_init();
        if (!none)
                return -ENOMEM;
        r = cap_set_proc(none) < 0 ? -errno : 0;
        cap_free(none);
        if (r < 0)
                return r;

        ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(allowed) && r >= 0; i++) {
                int nr = seccomp_syscall_resolve_name(allowed[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(fatal) && r >= 0; i++) {
                int nr = seccomp_syscall_resolve_name(fatal[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue;
                r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
        }
        /* sd_notify() opens an AF_UNIX datagram socket each time; nothing else may. */
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
        /* No executable memory. */
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                                     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}
