/*
 * scan_status.c - the scanner's state in the domain file "scan.status",
 * written by the scanner and read by inotify-shim ps (see scan.h).
 *
 * "key value" lines, the whole file replaced by a rename so that a reader
 * never sees half of it: pid; watched (watched inodes in the registry at
 * the last sync) and followed (of those, found by their path and looked at
 * once); unrecorded (of those, the ones whose path no process recorded,
 * made without $INOTIFY_SHIM_SCAN: never followed); entries (the followed directories' entries); passes, looks,
 * statx, events (counts since the start); interval_ms and cycle_ms (the
 * schedule); last_pass_ms (CLOCK_MONOTONIC, the end of the last pass);
 * lag_ms (at the write, the age of the oldest last look of a followed
 * object: the longest a change may have waited to be seen); threads and
 * held (the shard threads and the fds they hold, scan_shard.c);
 * written_ms (CLOCK_MONOTONIC, when written: once a second).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/domain.h"

#include "scan.h"

#define STATUS_FILE "scan.status"
#define STALE_MS 5000	/* written once a second: older means not running */

void scan_status_write(const struct scan_set *s, int64_t last_pass_ms,
		       long interval, long cycle)
{
	char buf[1024];
	size_t followed = 0, entries = 0;
	int64_t now = scan_now_ms(), lag = 0;
	int threads, fd, len;
	size_t held = scan_shards_held(&threads);

	for (size_t i = 0; i < s->n; i++) {
		const struct scan_obj *o = &s->o[i];
		if (o->fd < 0 || !o->snap.present)
			continue;
		followed++;
		entries += o->snap.n;
		if (!o->gone && now - o->looked_ms > lag)
			lag = now - o->looked_ms;
	}
	len = snprintf(buf, sizeof buf,
		       "pid %d\nwatched %zu\nfollowed %zu\nunrecorded %zu\nentries %zu\npasses %llu\n"
		       "looks %llu\nstatx %llu\nevents %llu\ninterval_ms %ld\ncycle_ms %ld\n"
		       "last_pass_ms %lld\nlag_ms %lld\nthreads %d\nheld %zu\nwritten_ms %lld\n",
		       (int)getpid(), s->n, followed, scan_set_unrecorded(s), entries, (unsigned long long)s->passes,
		       (unsigned long long)s->looks, (unsigned long long)s->stats,
		       (unsigned long long)s->events, interval, cycle,
		       (long long)last_pass_ms, (long long)lag, threads, held, (long long)now);
	fd = domain_openat(shim_domain, STATUS_FILE ".new", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	domain_file_share(shim_domain, fd);
	if (write(fd, buf, (size_t)len) == len)
		domain_renameat(shim_domain, STATUS_FILE ".new", STATUS_FILE);
	close(fd);
}

void scan_status_remove(void)
{
	domain_unlinkat(shim_domain, STATUS_FILE);
}

struct status {
	long long pid, watched, followed, unrecorded, entries, passes, events, interval, cycle,
		last_pass, lag, threads, held, written;
};

static bool status_read(struct status *st)
{
	static const char *const keys[] = { "pid", "watched", "followed", "unrecorded",
		"entries", "passes",
		"events", "interval_ms", "cycle_ms", "last_pass_ms", "lag_ms", "threads",
		"held", "written_ms" };
	long long *vals[] = { &st->pid, &st->watched, &st->followed, &st->unrecorded,
		&st->entries,
		&st->passes, &st->events, &st->interval, &st->cycle, &st->last_pass,
		&st->lag, &st->threads, &st->held, &st->written };
	char buf[1024], key[32];
	int fd = domain_openat(shim_domain, STATUS_FILE, O_RDONLY, 0);
	ssize_t n;
	long long v;

	*st = (struct status){ 0 };
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (sscanf(line, "%31s %lld", key, &v) == 2)
			for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
				if (!strcmp(key, keys[i]))
					*vals[i] = v;
	return st->pid > 0;
}

/* Is it running: its pid is there and it wrote lately. */
static bool running(const struct status *st)
{
	return (kill((pid_t)st->pid, 0) == 0 || errno == EPERM) &&
	       scan_now_ms() - st->written < STALE_MS;
}

void scan_status_print(FILE *f, bool json)
{
	struct status st;
	bool have = status_read(&st), live = have && running(&st);
	long long since = have ? scan_now_ms() - st.last_pass : 0;

	if (json && !have) {
		fputs(",\"scanner\":null", f);
		return;
	}
	if (json) {
		fprintf(f, ",\"scanner\":{\"pid\":%lld,\"running\":%s,\"watched\":%lld,"
			"\"followed\":%lld,\"unrecorded\":%lld,\"entries\":%lld,\"passes\":%lld,\"events\":%lld,"
			"\"interval_ms\":%lld,\"cycle_ms\":%lld,\"last_pass_ms_ago\":%lld,"
			"\"lag_ms\":%lld,\"threads\":%lld,\"held_fds\":%lld}",
			st.pid, live ? "true" : "false", st.watched, st.followed, st.unrecorded,
			st.entries,
			st.passes, st.events, st.interval, st.cycle, since, st.lag, st.threads,
			st.held);
		return;
	}
	if (!have) {
		fputs("scanner none\n", f);
		return;
	}
	if (!live) {
		fprintf(f, "scanner pid %lld not running (its last state is %lld ms old)\n",
			st.pid, scan_now_ms() - st.written);
		return;
	}
	fprintf(f, "scanner pid %lld: %lld of %lld watches scanned (%lld entries), last pass "
		"%lld ms ago, lag %lld ms (cycle %lld ms, tick %lld ms), %lld events; "
		"%lld threads hold %lld fds\n", st.pid, st.followed, st.watched, st.entries,
		since, st.lag, st.cycle, st.interval, st.events, st.threads, st.held);
	if (st.unrecorded)
		fprintf(f, "scanner cannot scan %lld watch%s: made without INOTIFY_SHIM_SCAN=1 "
			"(inotify-shim run --scan sets it), no path recorded\n", st.unrecorded,
			st.unrecorded == 1 ? "" : "es");
}
