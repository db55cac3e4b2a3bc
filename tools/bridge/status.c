/*
 * status.c - the bridges' state files, written by each bridge and read by
 * inotify-shim ps (status.h says the format).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bridge/status.h"

#define STATUS_PREFIX "bridge."

static void status_name(char *out, size_t size, const char *dir, long pid, bool tmp)
{
	snprintf(out, size, "%s/" STATUS_PREFIX "%ld%s", dir, pid, tmp ? ".new" : "");
}

/* A path as one token of a line: a newline would end the line. */
static void put_line_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '\n' ? '?' : *s, f);
}

int bridge_status_write(const char *dir, const struct bridge_status *s)
{
	char tmp[4096 + 64], final[4096 + 64];

	status_name(tmp, sizeof(tmp), dir, s->pid, true);
	status_name(final, sizeof(final), dir, s->pid, false);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return -e;
	}
	fprintf(f, "inotify-shim-bridge 1\npid %ld\nhost %s\nservers %s\nconnected %d\n"
		"updated %" PRId64 "\npublished %" PRIu64 "\nfailed %" PRIu64 "\n"
		"delivered %" PRIu64 "\nduplicates %" PRIu64 "\nlosses %" PRIu64 "\n",
		s->pid, s->host, s->servers, s->connected, s->updated_ms, s->published,
		s->failed, s->delivered, s->duplicates, s->losses);
	for (int i = 0; i < s->nroots; i++) {
		const struct bridge_status_root *r = &s->roots[i];
		fprintf(f, "root %s %" PRIu64 " %" PRId64 " ", r->name, r->lag_events, r->lag_ms);
		put_line_safe(f, r->path);
		fputc('\n', f);
	}
	if (fclose(f) != 0 || rename(tmp, final) != 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

void bridge_status_remove(const char *dir)
{
	char path[4096 + 64];

	status_name(path, sizeof(path), dir, (long)getpid(), false);
	unlink(path);
}

static bool parse_line(struct bridge_status *s, char *line)
{
	char *v = strchr(line, ' ');
	if (!v)
		return false;
	*v++ = 0;
	if (!strcmp(line, "pid"))
		s->pid = strtol(v, NULL, 10);
	else if (!strcmp(line, "host"))
		snprintf(s->host, sizeof(s->host), "%s", v);
	else if (!strcmp(line, "servers"))
		snprintf(s->servers, sizeof(s->servers), "%s", v);
	else if (!strcmp(line, "connected"))
		s->connected = atoi(v);
	else if (!strcmp(line, "updated"))
		s->updated_ms = strtoll(v, NULL, 10);
	else if (!strcmp(line, "published"))
		s->published = strtoull(v, NULL, 10);
	else if (!strcmp(line, "failed"))
		s->failed = strtoull(v, NULL, 10);
	else if (!strcmp(line, "delivered"))
		s->delivered = strtoull(v, NULL, 10);
	else if (!strcmp(line, "duplicates"))
		s->duplicates = strtoull(v, NULL, 10);
	else if (!strcmp(line, "losses"))
		s->losses = strtoull(v, NULL, 10);
	else if (!strcmp(line, "root") && s->nroots < BRIDGE_STATUS_ROOTS) {
		struct bridge_status_root *r = &s->roots[s->nroots];
		int off = 0;
		if (sscanf(v, "%64s %" SCNu64 " %" SCNd64 " %n", r->name, &r->lag_events,
			   &r->lag_ms, &off) < 3 || !off)
			return false;
		snprintf(r->path, sizeof(r->path), "%s", v + off);
		s->nroots++;
	}
	return true;
}

/* Read the file name of dir: the state of a live bridge, or false (not
 * one, not ours, not valid, its process gone). */
static bool read_one(const char *dir, const char *name, struct bridge_status *s)
{
	char path[4096 + 300], line[8192];
	struct stat st;
	char *end;
	long pid = strtol(name + strlen(STATUS_PREFIX), &end, 10);

	if (strncmp(name, STATUS_PREFIX, strlen(STATUS_PREFIX)) || *end || pid <= 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return false;
	}
	memset(s, 0, sizeof(*s));
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		  fgets(line, sizeof(line), f) && !strcmp(line, "inotify-shim-bridge 1\n");
	while (ok && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		ok = parse_line(s, line);
	}
	fclose(f);
	return ok && s->pid == pid && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int by_pid(const void *a, const void *b)
{
	const struct bridge_status *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The live bridges of dir, sorted by pid: how many, *out malloc'd. */
static int read_all(const char *dir, struct bridge_status **out)
{
	DIR *d = opendir(dir);
	struct bridge_status *v = NULL;
	int n = 0, cap = 0;

	*out = NULL;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (n == cap) {
			struct bridge_status *nv = realloc(v, (size_t)(cap = cap * 2 + 2) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		if (read_one(dir, e->d_name, &v[n]))
			n++;
	}
	closedir(d);
	qsort(v, (size_t)n, sizeof(*v), by_pid);
	*out = v;
	return n;
}

static int64_t age_ms(const struct bridge_status *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return now > s->updated_ms ? now - s->updated_ms : 0;
}

void bridge_status_print_text(FILE *f, const char *dir)
{
	struct bridge_status *v;
	int n = read_all(dir, &v);

	for (int i = 0; i < n; i++) {
		const struct bridge_status *s = &v[i];
		fprintf(f, "bridge pid %ld host %s server %s %s (state %.1f s old)\n", s->pid,
			s->host, s->servers, s->connected ? "connected" : "DISCONNECTED",
			(double)age_ms(s) / 1000);
		fprintf(f, "  published %" PRIu64 " (failed %" PRIu64 "), delivered %" PRIu64
			", duplicates %" PRIu64 ", losses %" PRIu64 "\n", s->published,
			s->failed, s->delivered, s->duplicates, s->losses);
		fprintf(f, "  %-16s %10s %10s  %s\n", "ROOT", "LAG", "LAG-MS", "PATH");
		for (int j = 0; j < s->nroots; j++) {
			const struct bridge_status_root *r = &s->roots[j];
			char ms[24] = "-";
			if (r->lag_ms >= 0)
				snprintf(ms, sizeof(ms), "%" PRId64, r->lag_ms);
			fprintf(f, "  %-16s %10" PRIu64 " %10s  %s\n", r->name, r->lag_events,
				ms, r->path);
		}
	}
	free(v);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void bridge_status_print_json(FILE *f, const char *dir)
{
	struct bridge_status *v;
	int n = read_all(dir, &v);

	fputc('[', f);
	for (int i = 0; i < n; i++) {
		const struct bridge_status *s = &v[i];
		fprintf(f, "%s\n{\"pid\":%ld,\"host\":", i ? "," : "", s->pid);
		json_str(f, s->host);
		fputs(",\"servers\":", f);
		json_str(f, s->servers);
		fprintf(f, ",\"connected\":%s,\"state_age_ms\":%" PRId64 ",\"published\":%" PRIu64
			",\"publish_failed\":%" PRIu64 ",\"delivered\":%" PRIu64
			",\"duplicates\":%" PRIu64 ",\"losses\":%" PRIu64 ",\"roots\":[",
			s->connected ? "true" : "false", age_ms(s), s->published, s->failed,
			s->delivered, s->duplicates, s->losses);
		for (int j = 0; j < s->nroots; j++) {
			const struct bridge_status_root *r = &s->roots[j];
			fprintf(f, "%s{\"name\":", j ? "," : "");
			json_str(f, r->name);
			fputs(",\"path\":", f);
			json_str(f, r->path);
			fprintf(f, ",\"lag_events\":%" PRIu64 ",\"lag_ms\":", r->lag_events);
			if (r->lag_ms >= 0)
				fprintf(f, "%" PRId64 "}", r->lag_ms);
			else
				fputs("null}", f);
		}
		fputs("]}", f);
	}
	fputc(']', f);
	free(v);
}
