/*
 * snapshot_seccomp - a program that confines itself with a seccomp filter,
 * as man-db does before it runs groff: with the argument "--sandbox" the
 * filter makes mkdir and mkdirat fail with ENOSYS ("Function not
 * implemented"), so refscope cannot create its snapshot directory.  The
 * summary line must then say why the snapshot is missing, and that a
 * seccomp filter confines the process (tests/integration/test_preload.py
 * runs it with REFSCOPE_OUT naming a directory that does not exist), or,
 * when the directory exists, write the snapshot as usual.
 * Without the argument it only leaks, like any sample.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     77/1
 *   @finding leaked     77/1  sample_leak_control
 *   @lsan    direct     77/1
 */
#include "sample_util.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* mkdir and mkdirat fail with ENOSYS; every other call is allowed. */
static void refuse_mkdir(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
    sample_check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "PR_SET_NO_NEW_PRIVS");
    sample_check(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0,
                 "PR_SET_SECCOMP");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--sandbox") == 0)
        refuse_mkdir();
    sample_leak_control(77);
    sample_scrub_stack();
    sample_say("snapshot_seccomp: leaked 77 bytes\n");
    return 0;
}
