/*
 * security.c - the domain is private to its user (issue 5, "Security"):
 * 0700 and 0600, no file of it open to others, and a process of another
 * uid (root forks, switches to 65534) can neither read its watches and
 * events nor inject events; it gets a domain of its own.  A watcher may
 * watch only what it could read: EACCES, as with the kernel.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(security, .init = scratch_setup, .fini = scratch_leave,
	  .timeout = 60);

static const char *domain_dir(void)
{
	const char *d = getenv("INOTIFY_SHIM_DOMAIN");

	cr_assert_not_null(d);
	return d;
}

Test(security, domain_files_are_private)
{
	int fd = inotify_init1(IN_NONBLOCK);
	struct stat st;
	char p[4096];
	DIR *dir;
	struct dirent *e;

	cr_assert_gt(inotify_add_watch(fd, ".", IN_ALL_EVENTS), 0);
	close(creat("x", 0600));
	cr_assert_eq(lstat(domain_dir(), &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0700);
	cr_assert_eq(st.st_uid, geteuid());
	dir = opendir(domain_dir());
	cr_assert_not_null(dir);
	int n = 0;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", domain_dir(), e->d_name);
		cr_assert_eq(lstat(p, &st), 0);
		cr_assert_eq(st.st_mode & 077, 0, "%s is mode %o", e->d_name, st.st_mode & 0777);
		cr_assert_eq(st.st_uid, geteuid(), "%s", e->d_name);
		cr_assert(!S_ISLNK(st.st_mode), "%s is a link", e->d_name);
		n++;
	}
	closedir(dir);
	cr_assert_geq(n, 3, "registry, queue and FIFO expected");
	/* the shim's own fds are close-on-exec: the instance fd here is not
	 * (no IN_CLOEXEC), and no other fd of the shim is open at all */
	close(fd);
}

Test(security, another_uid_can_neither_read_nor_inject)
{
	char reg[4096], sub[4096];
	int fd = inotify_init1(IN_NONBLOCK);
	struct ev ev[16];

	if (geteuid() != 0)
		cr_skip_test("needs root to switch users");
	cr_assert_eq(chmod(".", 0755), 0);	/* the intruder may write here */
	mkdir("open", 0777);
	chmod("open", 0777);
	cr_assert_gt(inotify_add_watch(fd, "open", IN_ALL_EVENTS), 0);
	snprintf(reg, sizeof reg, "%s/registry", domain_dir());
	snprintf(sub, sizeof sub, "%s/intruder", domain_dir());

	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		/* the user's domain: nothing of it can be opened */
		if (open(reg, O_RDONLY) != -1 || errno != EACCES)
			_exit(3);
		if (open(sub, O_CREAT | O_WRONLY, 0600) != -1)
			_exit(4);
		if (opendir(domain_dir()) != NULL)
			_exit(5);
		/* a program it starts, under the shim with the user's
		 * INOTIFY_SHIM_DOMAIN, is refused that domain (not its owner):
		 * its changes reach no watcher of the user */
		char *argv[] = { "sh", "-c",
				 "touch open/by-intruder; "
				 "ls \"$INOTIFY_SHIM_DOMAIN\" >/dev/null 2>&1 && exit 6; exit 0",
				 NULL };
		execvp("sh", argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %x", st);
	/* the intruder's file exists, but its change was not injected into
	 * the user's domain: its shim refused the user's domain directory */
	cr_assert_eq(access("open/by-intruder", F_OK), 0);
	int n = wait_events(fd, ev, 16, 1, 300);
	for (int i = 0; i < n; i++)
		cr_assert(strcmp(ev[i].name, "by-intruder") != 0,
			  "another uid injected an event: %s", mask_name(ev[i].mask));
	close(fd);
}

Test(security, watch_needs_read_permission)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch users");
	mkdir("closed", 0700);
	chmod(".", 0755);
	pid_t pid;
	int st;

	/* the watch itself: run a child of another uid through the test
	 * binary's own shim (its mapping was made as root, so the permission
	 * check is the only thing standing in the way) */
	pid = fork();
	if (pid == 0) {
		int fd = inotify_init1(IN_NONBLOCK);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		errno = 0;
		if (inotify_add_watch(fd, "closed", IN_ALL_EVENTS) != -1)
			_exit(3);
		_exit(errno == EACCES ? 0 : 4);
	}
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %x (3: watch allowed, "
		  "4: wrong errno)", st);
}
