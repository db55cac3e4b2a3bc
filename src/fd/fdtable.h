/*
 * fdtable.h - what this process knows about its own fds.
 *
 * One 64-bit word per fd number, read and written atomically, so that any
 * thread and any signal handler can ask "is fd an emulated instance?" with
 * one load and no lock.  A word holds:
 *   FD_NONE       nothing known: the hooks treat the fd as the kernel would;
 *   FD_INSTANCE   an emulated instance's fd, with its (slot, gen);
 *   FD_FILE       a file opened under the shim, with its open-file record;
 *   FD_OTHER      not a file that can be watched (a pipe, a socket): the
 *                 hooks need not look at it again until it is closed.
 *                 The shim's own cached fds (core/slots.c) are FD_OTHER
 *                 with a tag: the hooks treat them as any pipe, and any
 *                 close, dup2 or close_range of the fd through them wipes
 *                 the tag, which is how the shim learns that the fd is no
 *                 longer its own.
 *
 * FD_FILE words name a record of the pool (ofd.h), which stands for the
 * kernel's open file description.
 *
 * The fd layer (src/fd/: this table, the record pool, the /proc/self/fd
 * scan) is the bottom of the fds' side: hooks, core and instance use it,
 * and it includes nothing of theirs (test/layering.sh); an instance is
 * named by a struct slot_ref (slotref.h), which core gives its meaning.
 *
 * Lifetime: the table is private memory, made at first use and inherited
 * by fork; after exec, the instance fds the process still holds are found
 * again from the registry's holder lists (instance/instance.c).
 */
#ifndef SHIM_FD_FDTABLE_H
#define SHIM_FD_FDTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "ofd.h"
#include "procfd.h"
#include "slotref.h"

enum fd_kind { FD_NONE = 0, FD_INSTANCE = 1, FD_FILE = 2, FD_OTHER = 3 };

/* Make the table; called by the constructor.  Returns 0 or -ENOMEM. */
int fdtable_init(void);

/* The word of fd, its kind, and its instance or record. */
uint64_t fdtable_word(int fd);
/* fdtable_word(), inline, for the hooks' quiet checks (families.h). */
extern uint64_t *fdtable_words;
static inline uint64_t fdtable_peek(int fd)
{
	uint64_t *t = __atomic_load_n(&fdtable_words, __ATOMIC_ACQUIRE);

	if (!t || fd < 0 || (unsigned)fd >= FDTABLE_SIZE)
		return 0;
	return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
}
enum fd_kind fdtable_kind(int fd);
bool fdtable_instance(int fd, struct slot_ref *ref);
struct ofd *fdtable_file(int fd);

void fdtable_set_instance(int fd, struct slot_ref ref);
void fdtable_set_file(int fd, struct ofd *ofd);
void fdtable_set_other(int fd);
/* The shim's own fd, tagged (tag < 2^44); is fd still that one? */
void fdtable_set_own(int fd, uint64_t tag);
bool fdtable_is_own(int fd, uint64_t tag);
/* Forget fd; returns what it was (for the caller to act on). */
uint64_t fdtable_clear(int fd);
/* Adoption of an fd nobody knew (FD_NONE): the word of fd becomes o's
 * record (or FD_OTHER, for o NULL) only if it is still FD_NONE, with a
 * compare-and-swap, so that two threads adopting one fd agree on one
 * record.  Returns the word the table holds after: o's when o won, the
 * winner's otherwise (the caller then frees o, which nobody saw). */
uint64_t fdtable_adopt(int fd, struct ofd *o);

/* newfd now refers to what oldfd does (dup).  Returns the new word. */
uint64_t fdtable_dup(int oldfd, int newfd);

/* The highest fd that was ever given a word, or -1: fds above it are
 * FD_NONE (close_range scans no further). */
int fdtable_high(void);

/* Decode a word returned above. */
static inline enum fd_kind fdword_kind(uint64_t word)
{
	return (enum fd_kind)(word >> 60);
}

struct slot_ref fdword_instance(uint64_t word);

static inline struct ofd *fdword_file(uint64_t word)
{
	return fdword_kind(word) == FD_FILE ? ofd_at((uint32_t)word) : NULL;
}

/* Visit every fd known as an instance (fork, exit). */
void fdtable_for_each_instance(void (*fn)(int fd, struct slot_ref ref, void *arg),
			       void *arg);

#endif
