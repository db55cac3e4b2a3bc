/*
 * sharing.c - the sharing rules that st_mode does not show (issue 12,
 * item 5; the rule is at the top of src/domain/domain.c), tried as the
 * attacker would, from another uid:
 *   (a) a group-shared domain whose directory carries a POSIX ACL for a
 *       user outside the group: that user can reach the domain's files,
 *       so a member refuses the domain; a file of a domain that carries an
 *       ACL is refused and replaced, and a default ACL is refused too;
 *   (b) a user outside the group makes the shared directory inside a
 *       setgid, world-writable parent of the group: it inherits the group
 *       and st_mode reads like a shared domain's, but its owner is no
 *       member: a member refuses it;
 *   and the owner rule still lets in a directory of root, of the member
 *   itself, and of a user whose group it is by /etc/passwd or /etc/group.
 *
 * Needs root (users are switched with setresuid in a forked child); skipped
 * with a message otherwise.  Children re-execute this binary with
 * SHARING_CHILD set, and never reach Criterion.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define GROUP 47120	/* the sharing group; in no database */
#define UID_A 47121	/* a member */
#define UID_C 47123	/* not a member: the attacker */

/* ---- the children ------------------------------------------------------- */

/* probe DIR: make an instance, watch DIR, create a file there, read its
 * event.  "ok", "init-errno N", "watch-errno N" or "noevent". */
static int child_probe(const char *dir)
{
	char path[PATH_MAX];
	struct ev ev[4];
	int fd = inotify_init1(IN_NONBLOCK), n;

	if (fd < 0) {
		printf("init-errno %d\n", errno);
		return 0;
	}
	if (inotify_add_watch(fd, dir, IN_CREATE) < 0) {
		printf("watch-errno %d\n", errno);
		return 0;
	}
	path_printf(path, sizeof path, "%s/probe-%d", dir, (int)getpid());
	close(creat(path, 0600));
	n = wait_events(fd, ev, 4, 1, 5000);
	printf(n == 1 && ev[0].mask == IN_CREATE ? "ok\n" : "noevent\n");
	return 0;
}

/* mkdir DIR: make DIR 02770 (as the attacker: no group of ours) */
static int child_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 || chmod(dir, 02770) < 0) {
		printf("mkdir-errno %d\n", errno);
		return 0;
	}
	printf("made\n");
	return 0;
}

__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = child_mode("SHARING_CHILD");

	if (!mode)
		return;
	const char *a1 = getenv("SHARING_ARG1");
	if (!strcmp(mode, "probe"))
		_exit(child_probe(a1));
	if (!strcmp(mode, "mkdir"))
		_exit(child_mkdir(a1));
	_exit(99);
}

/* ---- the parent's side -------------------------------------------------- */

static char exe[PATH_MAX], base[PATH_MAX], domain[PATH_MAX], watched[PATH_MAX];

static void setup(void)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	cr_assert_gt(n, 0);
	exe[n] = 0;
	snprintf(base, sizeof base, "%s", scratch_enter());
	cr_assert_eq(chmod(base, 0711), 0);	/* other uids pass through */
	path_printf(domain, sizeof domain, "%s/dom", base);
	path_printf(watched, sizeof watched, "%s/w", base);
}

TestSuite(sharing, .init = setup, .fini = scratch_leave, .timeout = 60);

struct who {
	uid_t uid;		/* 0: stay root */
	gid_t gid;		/* with uid */
	int ngroups;
	gid_t groups[2];
};

static const struct who member = { UID_A, UID_A, 1, { GROUP } };
static const struct who attacker = { UID_C, UID_C, 0, { 0 } };
/* the attacker's own shim is given a domain it cannot make, so that it
 * makes nothing where the test looks */
static const char nowhere[] = "/nonexistent/inotify-shim-test";


/* Run this binary in MODE as WHO (umask 077) with the domain D and
 * debugging on; its stdout and stderr.  Asserts a clean exit. */
static void run(const struct who *w, const char *d, const char *mode, const char *a1,
		char *out, size_t olen, char *err, size_t elen)
{
	char outp[] = "/tmp/sharing-out.XXXXXX", errp[] = "/tmp/sharing-err.XXXXXX";
	int o = mkstemp(outp), e = mkstemp(errp), st = 0;
	pid_t pid;

	cr_assert(o >= 0 && e >= 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(o, 1);
		dup2(e, 2);
		umask(077);
		if (setgroups((size_t)w->ngroups, w->groups) < 0)
			_exit(97);
		if (w->uid && (setresgid(w->gid, w->gid, w->gid) < 0 ||
			       setresuid(w->uid, w->uid, w->uid) < 0))
			_exit(98);
		setenv("SHARING_CHILD", mode, 1);
		setenv("SHARING_ARG1", a1 ? a1 : "", 1);
		setenv("INOTIFY_SHIM_DOMAIN", d, 1);
		setenv("INOTIFY_SHIM_DEBUG", "1", 1);
		execl(exe, "sharing", (char *)NULL);
		_exit(127);
	}
	close(o);
	close(e);
	for (int ms = 0;; ms++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (ms == 30000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			cr_assert_fail("%s child did not finish in 30 s", mode);
		}
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	slurp_file(outp, out, olen, true);
	slurp_file(errp, err, elen, true);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s child: status %x, %s / %s",
		  mode, st, out, err);
}

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to act as other users");
}

/* DIR of OWNER and GROUP_ with MODE. */
static void owned_dir(const char *dir, uid_t owner, gid_t group, mode_t mode)
{
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chown(dir, owner, group), 0);
	cr_assert_eq(chmod(dir, mode), 0);
}

/* The member's probe: refused with a message containing reason. */
static void member_refused(const struct who *w, const char *reason)
{
	char out[4096], err[4096];

	run(w, domain, "probe", watched, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "init-errno 12\n", "not refused: %s / %s", out, err);
	cr_assert_not_null(strstr(err, reason), "message without \"%s\": %s", reason, err);
}

static void member_works(const struct who *w)
{
	char out[4096], err[4096];

	run(w, domain, "probe", watched, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "ok\n", "the member's domain does not work: %s / %s", out, err);
	cr_assert_null(strstr(err, "refused"), "%s", err);
}

/* An access (or default) ACL giving uid the rights rwx, in the kernel's
 * xattr format (version 2; entries sorted by tag: user_obj, user, group_obj,
 * mask, other).  Skips where the file system has no ACLs. */
static void give_acl(const char *path, const char *name, uint32_t uid)
{
	struct { uint16_t tag, perm; uint32_t id; } __attribute__((packed)) e[5] = {
		{ 0x01, 7, UINT32_MAX }, { 0x02, 7, uid }, { 0x04, 7, UINT32_MAX },
		{ 0x10, 7, UINT32_MAX }, { 0x20, 0, UINT32_MAX },
	};
	unsigned char buf[4 + sizeof e];
	uint32_t version = 2;

	memcpy(buf, &version, 4);
	memcpy(buf + 4, e, sizeof e);
	if (setxattr(path, name, buf, sizeof buf, 0) < 0) {
		if (errno == EOPNOTSUPP)
			cr_skip_test("no POSIX ACLs on the file system of %s", path);
		cr_assert_fail("setxattr %s on %s: %s", name, path, strerror(errno));
	}
}

/* (a) The attacker is let in by an ACL that st_mode does not show. */
Test(sharing, a_shared_directory_with_an_acl_for_an_outsider_is_refused)
{
	char out[4096], err[4096], path[PATH_MAX + 16];
	struct stat st;

	need_root();
	owned_dir(domain, 0, GROUP, 02770);
	owned_dir(watched, 0, GROUP, 02770);
	member_works(&member);
	give_acl(domain, "system.posix_acl_access", UID_C);
	cr_assert_eq(stat(domain, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 02770, "st_mode shows the ACL");
	/* the attack: the outsider can now write into the domain */
	path_printf(path, sizeof path, "%s/evil", domain);
	run(&attacker, nowhere, "mkdir", path, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "made\n", "the ACL did not let the outsider in: %s", out);
	/* and the member refuses it */
	member_refused(&member, "carries a POSIX ACL");
}

Test(sharing, a_shared_directory_with_a_default_acl_is_refused)
{
	need_root();
	owned_dir(domain, 0, GROUP, 02770);
	owned_dir(watched, 0, GROUP, 02770);
	give_acl(domain, "system.posix_acl_default", UID_C);
	member_refused(&member, "carries a POSIX ACL");
}

Test(sharing, a_file_of_a_shared_domain_with_an_acl_is_refused_and_replaced)
{
	char out[4096], err[4096], path[PATH_MAX + 16];

	need_root();
	owned_dir(domain, 0, GROUP, 02770);
	owned_dir(watched, 0, GROUP, 02770);
	member_works(&member);
	path_printf(path, sizeof path, "%s/registry", domain);
	give_acl(path, "system.posix_acl_access", UID_C);
	run(&member, domain, "probe", watched, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "ok\n", "no fresh registry: %s / %s", out, err);
	cr_assert_not_null(strstr(err, "refused its registry: it carries a POSIX ACL"), "%s",
			   err);
	member_works(&member);
}

/* (b) The attacker makes the domain's directory in a setgid parent that
 * is open to him: it inherits the group. */
Test(sharing, a_shared_directory_made_by_an_outsider_in_a_setgid_parent_is_refused)
{
	char parent[PATH_MAX], out[4096], err[4096];
	struct stat st;

	need_root();
	path_printf(parent, sizeof parent, "%s/drop", base);
	owned_dir(parent, 0, GROUP, 02777);
	path_printf(domain, sizeof domain, "%s/dom", parent);
	owned_dir(watched, 0, GROUP, 02770);
	run(&attacker, nowhere, "mkdir", domain, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "made\n", "%s / %s", out, err);
	cr_assert_eq(stat(domain, &st), 0);
	cr_assert(st.st_uid == UID_C && st.st_gid == GROUP && !(st.st_mode & 07),
		  "not the attack: uid %u gid %u mode %o", (unsigned)st.st_uid,
		  (unsigned)st.st_gid, (unsigned)st.st_mode);
	member_refused(&member, "neither root nor a member of its group");
}

/* The owner rule lets in what it should. */
Test(sharing, a_shared_directory_of_the_member_itself_is_accepted)
{
	need_root();
	owned_dir(domain, UID_A, GROUP, 02770);
	owned_dir(watched, 0, GROUP, 02770);
	member_works(&member);
}

Test(sharing, a_shared_directory_of_a_user_of_that_primary_group_is_accepted)
{
	struct passwd *pw = getpwnam("daemon");

	need_root();
	if (!pw || pw->pw_uid == 0)
		cr_skip_test("no user daemon in /etc/passwd");
	owned_dir(domain, pw->pw_uid, pw->pw_gid, 02770);
	owned_dir(watched, 0, pw->pw_gid, 02770);
	const struct who w = { UID_A, UID_A, 1, { pw->pw_gid } };
	member_works(&w);
}

Test(sharing, a_shared_directory_of_a_listed_member_is_accepted)
{
	struct group *g;
	struct passwd *pw = NULL;

	need_root();
	setgrent();
	while ((g = getgrent())) {
		pw = g->gr_mem[0] ? getpwnam(g->gr_mem[0]) : NULL;
		if (pw && pw->pw_uid != 0 && pw->pw_gid != g->gr_gid)
			break;
	}
	endgrent();
	if (!g)
		cr_skip_test("no group in /etc/group lists a member of another primary group");
	gid_t gid = g->gr_gid;
	owned_dir(domain, pw->pw_uid, gid, 02770);
	owned_dir(watched, 0, gid, 02770);
	const struct who w = { UID_A, UID_A, 1, { gid } };
	member_works(&w);
}

Test(sharing, a_shared_directory_of_an_unlisted_user_is_refused)
{
	need_root();
	owned_dir(domain, UID_C, GROUP, 02770);
	owned_dir(watched, 0, GROUP, 02770);
	member_refused(&member, "neither root nor a member of its group");
}
