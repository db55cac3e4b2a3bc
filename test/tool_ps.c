/*
 * tool_ps.c - inotify-shim ps and gc: ps lists this process's instance
 * with its holder, watch count, queue and watches; gc reclaims the
 * instance of a watcher killed with SIGKILL, and nothing of it is left.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "tool_helpers.h"

static void setup(void)
{
	scratch_enter();
}

TestSuite(ps, .init = setup, .fini = scratch_leave, .timeout = 30);
TestSuite(gc, .init = setup, .fini = scratch_leave, .timeout = 30);

/* The line of ps's output of the instance held by pid:fd (fd -1: any). */
static const char *line_of(const char *text, int pid, int fd)
{
	static char line[512];
	char key[64];
	const char *p;

	if (fd < 0)
		snprintf(key, sizeof key, " %d:", pid);
	else
		snprintf(key, sizeof key, " %d:%d", pid, fd);
	p = strstr(text, key);
	if (!p)
		return NULL;
	while (p > text && p[-1] != '\n')
		p--;
	snprintf(line, sizeof line, "%.*s", (int)strcspn(p, "\n"), p);
	return line;
}

Test(ps, lists_this_instance_with_its_watches_and_queue)
{
	int fd = inotify_init1(IN_NONBLOCK);
	unsigned watches, events, bytes, overflows;
	char id[32], holders[128];
	const char *line;

	cr_assert_geq(fd, 0, "inotify_init1: %s", strerror(errno));
	/* Not the working directory, where the command's output goes. */
	cr_assert_eq(mkdir("d", 0700), 0);
	cr_assert_eq(mkdir("d/a", 0700), 0);
	cr_assert_gt(inotify_add_watch(fd, "d", IN_CREATE | IN_DELETE), 0);
	cr_assert_gt(inotify_add_watch(fd, "d/a", IN_MODIFY), 0);
	cr_assert_eq(mkdir("d/b", 0700), 0);	/* one event queued: 16 + 16 bytes */

	cr_assert_eq(tool("ps"), 0, "%s", slurp("err"));
	line = line_of(slurp("out"), getpid(), fd);
	cr_assert(line, "no %d:%d in:\n%s", getpid(), fd, slurp("out"));
	cr_assert_eq(sscanf(line, "%31s %127s %u %u %u %u", id, holders, &watches,
			    &events, &bytes, &overflows), 6, "%s", line);
	cr_assert_eq(watches, 2, "%s", line);
	cr_assert_eq(events, 1, "%s", line);
	cr_assert_eq(bytes, 32, "%s", line);
	cr_assert_eq(overflows, 0, "%s", line);
	close(fd);
}

Test(ps, w_shows_each_watch_and_the_path_of_the_working_directory)
{
	int fd = inotify_init1(IN_NONBLOCK);
	char cwd[PATH_MAX], expect[PATH_MAX + 128];
	struct stat st;

	cr_assert_geq(fd, 0);
	cr_assert(getcwd(cwd, sizeof cwd));
	cr_assert_eq(stat(".", &st), 0);
	/* No IN_CREATE: the command's output is made here. */
	cr_assert_eq(inotify_add_watch(fd, ".", IN_MOVED_TO | IN_DELETE_SELF | IN_ONESHOT), 1);

	cr_assert_eq(tool("ps -w"), 0, "%s", slurp("err"));
	snprintf(expect, sizeof expect, ":%llu  %s\n", (unsigned long long)st.st_ino, cwd);
	cr_assert(strstr(slurp("out"), expect), "no '%s' in:\n%s", expect, slurp("out"));
	cr_assert(strstr(slurp("out"), "IN_MOVED_TO|IN_DELETE_SELF|IN_ONESHOT"), "%s", slurp("out"));
	close(fd);
}

Test(ps, json_says_the_same)
{
	int fd = inotify_init1(IN_NONBLOCK);
	char expect[256];

	cr_assert_geq(fd, 0);
	cr_assert_eq(inotify_add_watch(fd, ".", IN_DELETE), 1);
	cr_assert_eq(tool("ps --json -w"), 0, "%s", slurp("err"));
	snprintf(expect, sizeof expect, "\"holders\":[{\"pid\":%d,\"fd\":%d}],\"watches\":1,",
		 getpid(), fd);
	cr_assert(strstr(slurp("out"), expect), "no '%s' in:\n%s", expect, slurp("out"));
	cr_assert(strstr(slurp("out"), "\"watch_list\":[{\"wd\":1,\"mask\":\"IN_DELETE\","),
		  "%s", slurp("out"));
	cr_assert(strstr(slurp("out"), "\"queued_events\":0,\"queued_bytes\":0,\"overflows\":0"),
		  "%s", slurp("out"));
	close(fd);
}

/* The instances' files of the domain directory: queues and FIFOs. */
static int instance_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert(d, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "q-", 2) || !strncmp(e->d_name, "f-", 2))
			n++;
	closedir(d);
	return n;
}

Test(gc, reclaims_the_instance_of_a_killed_watcher)
{
	char dom[PATH_MAX];
	pid_t pid;

	/* A domain of this test's own, so that no other test's instances
	 * (nor their reclaim) can change what gc finds. */
	cr_assert(getcwd(dom, sizeof dom));
	strcat(dom, "/dom");
	cr_assert_eq(mkdir("watched", 0700), 0);
	pid = tool_start("wout", "werr", "watch -d '%s' watched", dom);
	cr_assert_gt(pid, 0);
	cr_assert(wait_file_contains("werr", "Watches established.", 10000), "%s", slurp("werr"));

	kill(pid, SIGKILL);
	cr_assert_eq(wait_exit(pid, 10000), -1);
	cr_assert_eq(instance_files(dom), 2, "its queue and its FIFO are left behind");

	cr_assert_eq(tool("ps -d '%s'", dom), 0, "%s", slurp("err"));
	cr_assert(strstr(slurp("out"), "1 dead instance awaiting reclaim"), "%s", slurp("out"));

	cr_assert_eq(tool("gc -d '%s'", dom), 0, "%s", slurp("err"));
	cr_assert(strstr(slurp("out"), "freed instance 1.1: 1 watch, created by pid"),
		  "%s", slurp("out"));
	cr_assert(strstr(slurp("out"), "1 instance and 1 watch freed"), "%s", slurp("out"));
	cr_assert_eq(instance_files(dom), 0);

	cr_assert_eq(tool("gc -d '%s'", dom), 0);
	cr_assert(strstr(slurp("out"), "0 instances and 0 watches freed"), "%s", slurp("out"));
	cr_assert_eq(tool("ps -d '%s'", dom), 0);
	cr_assert_null(strstr(slurp("out"), "dead"), "%s", slurp("out"));
}

Test(gc, leaves_live_instances_alone)
{
	char dom[PATH_MAX];
	pid_t pid;

	cr_assert(getcwd(dom, sizeof dom));
	strcat(dom, "/dom");
	pid = tool_start("wout", "werr", "watch -d '%s' .", dom);
	cr_assert_gt(pid, 0);
	cr_assert(wait_file_contains("werr", "Watches established.", 10000), "%s", slurp("werr"));
	cr_assert_eq(tool("gc -d '%s'", dom), 0, "%s", slurp("err"));
	cr_assert(strstr(slurp("out"), "0 instances and 0 watches freed"), "%s", slurp("out"));
	cr_assert_eq(tool("ps -d '%s'", dom), 0);
	cr_assert(line_of(slurp("out"), pid, -1), "%s", slurp("out"));
	kill(pid, SIGTERM);
	wait_exit(pid, 10000);
}
