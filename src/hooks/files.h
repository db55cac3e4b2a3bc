/*
 * files.h - open-file records and events through fds, shared by the hook
 * families (files.c, dirs.c, stdio.c, manual.c).
 */
#ifndef SHIM_HOOKS_FILES_H
#define SHIM_HOOKS_FILES_H

#include <stdbool.h>
#include <stdint.h>

#include "hooks/objects.h"
#include "instance/fdtable.h"

/* A record for fd, just opened with open_flags, describing obj. */
struct ofd *hook_record_new(int fd, const struct hook_obj *obj, int open_flags);

/* The record of fd, adopting the fd if the table does not know it; NULL
 * for what is not a watchable file. */
struct ofd *hook_fd_record(int fd);

/* Deliver mask about the record's file.  fd tells IN_EXCL_UNLINK whether
 * the file is unlinked; without one (-1), unlinked says it. */
void hook_record_event(struct ofd *o, int fd, uint32_t mask);
void hook_record_event_closed(struct ofd *o, bool unlinked, uint32_t mask);
void hook_fd_event(int fd, uint32_t mask);

/* Before the last close of o's fd: true when this is the last opener of an
 * unlinked inode whose IN_DELETE_SELF waits. */
bool hook_probe_last_opener(int fd, struct ofd *o);

/* Before the last close of fd: what the close events need to know. */
struct close_facts {
	bool last_opener;	/* its IN_DELETE_SELF was waiting for this */
	bool unlinked;		/* for IN_EXCL_UNLINK */
};
void hook_closing(int fd, uint64_t word, struct close_facts *facts);

/* After fd, whose table word was word, was closed. */
void hook_closed(int fd, uint64_t word, const struct close_facts *facts);

/* Before fork: every record may now be held by two processes. */
void hook_mark_shared(void);

#endif
