/*
 * openfiles.c - the shared table of open files held by several processes
 * (see openfiles.h for the holders, the lifetime and the lock order:
 * files.lock is a leaf, never taken with registry.lock or a queue lock
 * held, and nothing is locked under it).
 */
#include "openfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/slots.h"
#include "../util/log.h"
#include "../util/real.h"
#include "../util/shlock.h"
#include "../util/sigdefer.h"
#include "backing.h"
#include "domain.h"

static struct openfiles *table;
static struct of_entry *entries;

static uint64_t entries_off(void)
{
	return (sizeof(struct openfiles) + 4095) & ~(uint64_t)4095;
}

static uint64_t total_size(void)
{
	uint64_t t = entries_off() + (uint64_t)OPENFILES_ENTRIES * sizeof(struct of_entry);
	return (t + 4095) & ~(uint64_t)4095;
}

/* owner: the file's owner, who made the table and wrote its header */
static bool header_valid(const struct openfiles *t, uid_t owner)
{
	return __atomic_load_n(&t->magic, __ATOMIC_ACQUIRE) == OPENFILES_MAGIC &&
	       t->version == OPENFILES_VERSION && t->header_size == sizeof *t &&
	       t->total_size == total_size() && t->uid == (uint32_t)owner &&
	       t->nentries == OPENFILES_ENTRIES && t->nholders == OPENFILE_HOLDERS &&
	       t->entry_size == sizeof(struct of_entry);
}

static int create_file(const struct domain *d)
{
	char tmp[64];
	pthread_mutexattr_t a;
	struct openfiles *t;
	int dfd, fd, ret = 0;

	dfd = domain_dir_open(d);
	if (dfd < 0)
		return dfd;
	snprintf(tmp, sizeof tmp, "files.new-%d", (int)getpid());
	real_unlinkat(dfd, tmp, 0);
	fd = real_openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		real_close(dfd);
		return ret;
	}
	ret = domain_file_share(d, fd);
	if (ret < 0)
		goto out;
	if (real_ftruncate(fd, (off_t)total_size()) < 0) {
		ret = -errno;
		goto out;
	}
	t = mmap(NULL, total_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	/* the whole table is backed before it is published (backing.h): its
	 * pid hints are read without the lock, and it is small */
	ret = backing_fallocate(fd, t, 0, total_size());
	if (ret < 0) {
		munmap(t, total_size());
		domain_note_storage_failure();
		goto out;
	}
	t->version = OPENFILES_VERSION;
	t->header_size = sizeof *t;
	t->total_size = total_size();
	t->uid = (uint32_t)geteuid();
	t->nentries = OPENFILES_ENTRIES;
	t->nholders = OPENFILE_HOLDERS;
	t->entry_size = sizeof(struct of_entry);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&t->lock, &a);
	pthread_mutexattr_destroy(&a);
	__atomic_store_n(&t->magic, OPENFILES_MAGIC, __ATOMIC_RELEASE);
	munmap(t, total_size());
	if (real_linkat(dfd, tmp, dfd, "files", 0) < 0 && errno != EEXIST)
		ret = -errno;
out:
	real_close(fd);
	real_unlinkat(dfd, tmp, 0);
	real_close(dfd);
	return ret;
}

/* -ENOENT: none yet; -EPROTO: not ours (set aside by the caller). */
static int map_file(const struct domain *d)
{
	char why[96];
	struct stat st;
	void *map;
	int fd;

	fd = domain_openat(d, "files", O_RDWR | O_NONBLOCK, 0);
	if (fd < 0)
		return fd == -ELOOP ? -EPROTO : fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    domain_file_refused(d, fd, &st, why, sizeof why) ||
	    (uint64_t)st.st_size != total_size() ||
	    (backing_blocks_count(fd) &&	/* holes: backing.h */
	     (uint64_t)st.st_blocks * 512 < total_size())) {
		real_close(fd);
		return -EPROTO;
	}
	map = mmap(NULL, total_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	real_close(fd);
	if (map == MAP_FAILED)
		return -errno;
	if (!header_valid(map, st.st_uid)) {
		munmap(map, total_size());
		return -EPROTO;
	}
	entries = (struct of_entry *)((char *)map + entries_off());
	__atomic_store_n(&table, map, __ATOMIC_RELEASE);
	return 0;
}

int openfiles_map(bool create)
{
	struct domain *d = shim_domain;
	int ret;

	if (__atomic_load_n(&table, __ATOMIC_ACQUIRE))
		return 0;
	if (!d)
		return -ENODEV;
	for (int attempt = 0; attempt < 3; attempt++) {
		ret = map_file(d);
		if (ret == 0)
			return 0;
		if (ret == -EPROTO) {
			char to[64];
			snprintf(to, sizeof to, "files.refused-%d", (int)getpid());
			if (!create)
				return ret;
			domain_note_refusal();
			shim_log_once("domain %s: refused its table of shared open files; "
				      "made a fresh one", d->dir);
			domain_renameat(d, "files", to);
		} else if (ret != -ENOENT || !create) {
			return ret;
		}
		ret = create_file(d);
		if (ret < 0)
			return ret;
	}
	return -EPROTO;
}

bool openfiles_mapped(void)
{
	return __atomic_load_n(&table, __ATOMIC_ACQUIRE) != NULL;
}

static uint32_t *bucket(int32_t pid)
{
	uint32_t p = pid < 0 ? -(uint32_t)pid : (uint32_t)pid;
	return &table->pid_refs[p % OPENFILES_PID_BUCKETS];
}

bool openfiles_maybe_holder(pid_t pid)
{
	struct openfiles *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);

	return t && __atomic_load_n(bucket(pid), __ATOMIC_RELAXED) != 0;
}

/* After a holder died with the lock: make every entry self-consistent
 * and recount the pid hints. */
static void repair_table(void *unused)
{
	struct openfiles *t = table;

	(void)unused;
	memset(t->pid_refs, 0, sizeof t->pid_refs);
	if (t->hwm >= OPENFILES_ENTRIES)
		t->hwm = OPENFILES_ENTRIES - 1;
	for (uint32_t i = 1; i <= t->hwm; i++) {
		struct of_entry *e = &entries[i];
		if (e->state != 1) {
			e->state = 0;
			continue;
		}
		if (e->nholders > OPENFILE_HOLDERS)
			e->nholders = OPENFILE_HOLDERS;
		if (!e->nholders && !e->overflow) {
			e->state = 0;
			continue;
		}
		e->data.name[NAME_MAX] = 0;
		for (uint32_t h = 0; h < openfiles_holders(e); h++)
			(*bucket(e->holders[h].pid))++;
	}
	t->repairs++;
}


int openfiles_lock(void)
{
	int r;

	if (!table)
		return -ENODEV;
	r = shlock_take_repair(&table->lock, &table->lock_rec, SHLOCK_FILES, repair_table, NULL);
	if (r > 0)
		shim_log_once("a process died holding the table of shared open files; "
			      "it was repaired");
	if (r >= 0)
		return 0;
	if (r == -ETIMEDOUT && domain_watching()) {
		/* the caller gives up: a close event it would have decided
		 * may be lost, on any instance */
		slot_lost_all(shim_domain);
	}
	return r;
}

int openfiles_trylock(void)
{
	int r;

	if (!table)
		return -ENODEV;
	r = shlock_try_repair(&table->lock, &table->lock_rec, SHLOCK_FILES, repair_table, NULL);
	if (r > 0)
		shim_log_once("a process died holding the table of shared open files; "
			      "it was repaired");
	return r < 0 ? r : 0;
}

void openfiles_unlock(void)
{
	pthread_mutex_unlock(&table->lock);
	sigdefer_end();
}

uint32_t openfiles_hwm(void)
{
	uint32_t h = table->hwm;
	return h < OPENFILES_ENTRIES ? h : OPENFILES_ENTRIES - 1;
}

struct of_entry *openfiles_at(uint32_t idx)
{
	if (!idx || idx >= OPENFILES_ENTRIES)
		return NULL;
	return &entries[idx];
}

struct of_entry *openfiles_get(struct of_ref ref)
{
	struct of_entry *e = openfiles_at(ref.idx);

	if (!e || e->state != 1 || e->gen != ref.gen)
		return NULL;
	if (e->nholders > OPENFILE_HOLDERS)
		e->nholders = OPENFILE_HOLDERS;
	return e;
}

struct of_ref openfiles_alloc(const struct of_data *data)
{
	uint32_t hwm = openfiles_hwm();

	for (uint32_t i = 1; i < OPENFILES_ENTRIES; i++) {
		struct of_entry *e = &entries[i];
		if (i > hwm)
			table->hwm = i;
		if (e->state == 1)
			continue;
		e->gen++;
		if (!e->gen)
			e->gen = 1;
		e->nholders = 0;
		e->overflow = 0;
		e->data = *data;
		e->data.name[NAME_MAX] = 0;
		e->state = 1;
		return (struct of_ref){ i, e->gen };
	}
	return (struct of_ref){ 0, 0 };
}

bool openfiles_has(struct of_entry *e, int32_t pid, int32_t fd)
{
	for (uint32_t h = 0; h < openfiles_holders(e); h++)
		if (e->holders[h].pid == pid && e->holders[h].fd == fd)
			return true;
	return false;
}

void openfiles_add(struct of_entry *e, int32_t pid, int32_t fd)
{
	uint32_t n = openfiles_holders(e);

	if (n >= OPENFILE_HOLDERS) {
		e->overflow = 1;
		shim_log_once("an open file is held by more than %d fds across processes; "
			      "its close events will not come", OPENFILE_HOLDERS);
		return;
	}
	e->holders[n] = (struct of_holder){ pid, fd };
	e->nholders = n + 1;
	__atomic_add_fetch(bucket(pid), 1, __ATOMIC_RELAXED);
}

static void remove_at(struct of_entry *e, uint32_t h)
{
	uint32_t n = openfiles_holders(e), *b;

	if (h >= n)
		return;
	b = bucket(e->holders[h].pid);
	if (__atomic_load_n(b, __ATOMIC_RELAXED))
		__atomic_sub_fetch(b, 1, __ATOMIC_RELAXED);
	e->holders[h] = e->holders[n - 1];
	e->nholders = n - 1;
}

bool openfiles_remove(struct of_entry *e, int32_t pid, int32_t fd)
{
	bool found = false;

	for (uint32_t h = 0; h < openfiles_holders(e); h++) {
		if (e->holders[h].pid == pid && (fd == -2 || e->holders[h].fd == fd)) {
			remove_at(e, h);
			found = true;
			if (fd != -2)
				break;
			h--;
		}
	}
	return found;
}

bool openfiles_replace(struct of_entry *e, int32_t pid, int32_t fd, int32_t npid,
		       int32_t nfd)
{
	for (uint32_t h = 0; h < openfiles_holders(e); h++) {
		if (e->holders[h].pid == pid && e->holders[h].fd == fd) {
			uint32_t *b = bucket(pid);
			if (__atomic_load_n(b, __ATOMIC_RELAXED))
				__atomic_sub_fetch(b, 1, __ATOMIC_RELAXED);
			e->holders[h] = (struct of_holder){ npid, nfd };
			__atomic_add_fetch(bucket(npid), 1, __ATOMIC_RELAXED);
			return true;
		}
	}
	return false;
}

/* A process that can no longer hold anything: gone, or a zombie. */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[128], *p;
	int fd;
	ssize_t n;

	if (pid <= 0)
		return true;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = real_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	n = real_read(fd, buf, sizeof buf - 1);
	real_close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void drop_dead(struct of_entry *e, int32_t except)
{
	for (uint32_t h = 0; h < openfiles_holders(e); h++) {
		int32_t pid = e->holders[h].pid;
		if (pid == except)
			continue;
		/* a placeholder is -pid; no process has INT32_MIN's negation */
		if (pid == INT32_MIN || pid_gone(pid < 0 ? -pid : pid)) {
			remove_at(e, h);
			h--;
		}
	}
}

bool openfiles_held_by_others(struct of_entry *e, int32_t pid)
{
	if (e->overflow)
		return true;
	drop_dead(e, pid);
	for (uint32_t h = 0; h < openfiles_holders(e); h++)
		if (e->holders[h].pid != pid)
			return true;
	return false;
}

bool openfiles_release_if_unheld(struct of_entry *e, struct of_data *out)
{
	if (e->overflow)
		return false;
	drop_dead(e, 0);
	if (e->nholders)
		return false;
	*out = e->data;
	e->state = 0;
	return true;
}
