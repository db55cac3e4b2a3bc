/*
 * run.c - running a parsed scenario: each step in turn (repeat's N times),
 * and a spawn block in a new process image: the runner forks and execs
 * itself on the same scenario with "--block FROM TO", the labels on its
 * command line, and waits for it.  The child inherits the directory, the
 * descriptors without close-on-exec, and (with -n) the seccomp filter, as
 * any program started by a program would.  Its cookies are numbered from
 * c1 again: it is another reader.
 *
 * shell, sleep and echo are here too: they are about the run, not a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"

static const char *self;

/* The runner's own program, for the exec of a spawn block. */
void run_set_self(const char *exe)
{
	self = exe;
}

/* "WHAT: exit 1", "WHAT: signal 9": a child that did not exit with 0. */
static void say_status(const char *what, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status))
		say("%s: exit %d\n", what, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		say("%s: signal %d\n", what, WTERMSIG(status));
}

void op_shell(const struct step *s)
{
	int status;

	fflush(stdout);
	status = system(s->arg[0]);
	if (status == -1)
		say_failed(s, "system", errno);
	else
		say_status(s->text, status);
}

void op_sleep(const struct step *s)
{
	long ms = step_num(s, 0, 0);
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

void op_echo(const struct step *s)
{
	say("-- %s\n", step_text(s, 0, ""));
}

/* The block of the spawn step at, in a child that execs the runner. */
static void spawn_block(const struct script *sc, unsigned at)
{
	char **labels = label_export();
	char from[16], to[16];
	const char **argv;
	unsigned n = 0;
	int status;
	pid_t pid;

	for (; labels && labels[n]; n++)
		;
	argv = calloc(n + 6, sizeof *argv);
	if (!labels || !argv) {
		say("spawn: out of memory\n");
		return;
	}
	snprintf(from, sizeof from, "%u", at + 1);
	snprintf(to, sizeof to, "%u", sc->steps[at].end);
	argv[0] = self;
	argv[1] = "--block";
	argv[2] = from;
	argv[3] = to;
	argv[4] = sc->path;
	for (unsigned i = 0; i < n; i++)
		argv[5 + i] = labels[i];
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execv(self, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0)
		say("spawn: fork %s\n", errno_name(errno));
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid > 0)
		say_status("spawn", status);
	for (unsigned i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
	free(argv);
}

/* Steps [from, to) of sc. */
void script_run(const struct script *sc, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to && i < sc->n; i++) {
		const struct step *s = &sc->steps[i];

		if (s->op == &op_spawn) {
			spawn_block(sc, i);
			i = s->end - 1;
			continue;
		}
		for (long k = 0; k < s->times; k++)
			s->op->run(s);
	}
}
