/*
 * deny.c - the seccomp filter that takes the kernel's inotify away.  The
 * four calls return ENOSYS, as on a kernel built without inotify, so that
 * an emulation loaded into the process must answer them, and a test that
 * passes proves the emulation did.  The filter is inherited across fork
 * and exec, and cannot be removed.
 *
 * A process can make system calls through more than one ABI: on x86-64,
 * the 64-bit one, x32 (the same numbers with __X32_SYSCALL_BIT set, under
 * the same audit arch) and i386's (int $0x80, under AUDIT_ARCH_I386, with
 * numbers of its own).  The filter checks the arch first and knows the
 * calls' numbers under each ABI the build's machine has; a call under an
 * arch it does not know kills the process, so that no unknown door is
 * left open (a test then fails loudly instead of passing on the kernel).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "deny.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS SECCOMP_RET_KILL
#endif

/* One system call ABI: its audit arch, a bit of the number that marks
 * the ABI and is cleared before comparing, and the four calls' numbers
 * (-1 where the ABI has no such call: aarch64 has no inotify_init). */
struct abi {
	uint32_t arch;
	uint32_t marker;
	int32_t nr[4];
};

#ifdef __NR_inotify_init
#define NATIVE_INIT __NR_inotify_init
#else
#define NATIVE_INIT (-1)
#endif
#define NATIVE_NRS { NATIVE_INIT, __NR_inotify_init1, __NR_inotify_add_watch, \
		     __NR_inotify_rm_watch }

static const struct abi abis[] = {
#if defined(__x86_64__)
	{ AUDIT_ARCH_X86_64, 0x40000000 /* __X32_SYSCALL_BIT */, NATIVE_NRS },
	/* arch/x86/entry/syscalls/syscall_32.tbl: 291 inotify_init,
	 * 292 inotify_add_watch, 293 inotify_rm_watch, 332 inotify_init1 */
	{ AUDIT_ARCH_I386, 0, { 291, 332, 292, 293 } },
#elif defined(__i386__)
	{ AUDIT_ARCH_I386, 0, NATIVE_NRS },
#elif defined(__aarch64__)
	{ AUDIT_ARCH_AARCH64, 0, NATIVE_NRS },
#elif defined(__riscv) && __riscv_xlen == 64
	{ AUDIT_ARCH_RISCV64, 0, NATIVE_NRS },
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{ AUDIT_ARCH_PPC64LE, 0, NATIVE_NRS },
#elif defined(__s390x__)
	{ AUDIT_ARCH_S390X, 0, NATIVE_NRS },
#elif defined(__arm__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{ AUDIT_ARCH_ARM, 0, NATIVE_NRS },
#endif
};
#define NABIS (sizeof abis / sizeof abis[0])

/* Instructions for one ABI: load the number, clear its marker, one
 * comparison per call it has, allow. */
static unsigned abi_length(const struct abi *a)
{
	unsigned n = 2 + (a->marker != 0);

	for (int i = 0; i < 4; i++)
		n += a->nr[i] >= 0;
	return n;
}

/*   load arch; one jump per known arch to its block; kill
 *   per ABI: load nr; [and ~marker]; nr == call ? -> deny; allow
 *   deny: ENOSYS */
static unsigned build(struct sock_filter *f)
{
	unsigned start[NABIS + 1], n = 0, deny;

	start[0] = 1 + NABIS + 1;
	for (unsigned i = 0; i < NABIS; i++)
		start[i + 1] = start[i] + abi_length(&abis[i]);
	deny = start[NABIS];

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	for (unsigned i = 0; i < NABIS; i++, n++)
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						    abis[i].arch, start[i] - n - 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	for (unsigned i = 0; i < NABIS; i++) {
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						      offsetof(struct seccomp_data, nr));
		if (abis[i].marker)
			f[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K,
							      ~abis[i].marker);
		for (int c = 0; c < 4; c++) {
			if (abis[i].nr[c] < 0)
				continue;
			f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							    (uint32_t)abis[i].nr[c],
							    deny - n - 1, 0);
			n++;
		}
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ERRNO | ENOSYS);
	return n;
}

int deny_kernel_inotify(void)
{
	struct sock_filter f[1 + 2 * NABIS + 1 + 8 * NABIS + 1];
	struct sock_fprog prog = { .filter = f };

	if (!NABIS)
		return -ENOSYS;	/* a machine this file does not know yet */
	prog.len = (unsigned short)build(f);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}
