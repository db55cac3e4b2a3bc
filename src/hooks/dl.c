/*
 * dl.c - dlsym and dlvsym: a program that looks a hooked function up by
 * name (ctypes.CDLL("libc.so.6").open, pyinotify's inotify_init, JNA,
 * LuaJIT's FFI, Ruby's Fiddle) gets the shim's, not libc's, which the
 * symbol lookup of a handle would otherwise reach past the shim.
 *
 * The rule: when a lookup on a handle (of libc, of any object whose search
 * reaches libc, RTLD_DEFAULT, dlopen(NULL)) finds libc's default definition
 * of a name that the shim also defines (the hooks of hooks.table and the
 * inotify_* calls), the shim's definition is returned.  Everything else is
 * libc's answer, unchanged: the old versions of a symbol that dlvsym asks
 * for, names the shim does not define, and every RTLD_NEXT and RTLD_DEFAULT
 * lookup.
 *
 * RTLD_NEXT is relative to the object that calls dlsym, which glibc finds
 * from its return address.  A wrapper in C would make every RTLD_NEXT
 * lookup relative to the shim; a library after the shim that wraps open
 * would be handed its own open back.  So the exported dlsym and dlvsym are
 * a few instructions of assembly that jump to libc's function, with the
 * caller's return address still on the stack, when the handle is
 * RTLD_NEXT or RTLD_DEFAULT (whose lookup is in the caller's namespace, and
 * whose error message names the caller; the global scope already finds the
 * shim first), and go to the C code here otherwise.  Where there is no such
 * stub (architectures other than x86_64) dlsym and dlvsym are not
 * interposed at all, and the limit stands as the README says.
 *
 * libc's dlsym cannot be found with dlsym (it would find this one, and a
 * versioned reference binds to an unversioned definition too): it is looked
 * up in libc's own dynamic symbol table, through its link map (found by
 * its name among the loaded objects), and so are the names tested against
 * the shim's.  The tables are found once, at load (a constructor), or by
 * the first lookup before it: a sanitizer's runtime, for one, looks up its
 * interceptors' targets before any constructor runs, so nothing here is
 * instrumented or calls a function a sanitizer intercepts (no libc string
 * function, no pthread_once).  Nothing here takes a lock of the shim or
 * allocates; the lookups are reads of the loaded objects' tables.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)

/* A sanitizer's runtime calls dlsym while it starts, before its shadow
 * memory and interceptors exist: nothing here may be instrumented. */
#define DL_PLAIN __attribute__((no_sanitize("address", "thread", "undefined")))

typedef void *dlsym_fn(void *, const char *);
typedef void *dlvsym_fn(void *, const char *, const char *);

/* Read by the stubs: libc's functions, once found. */
__attribute__((visibility("hidden"))) dlsym_fn *shim_real_dlsym;
__attribute__((visibility("hidden"))) dlvsym_fn *shim_real_dlvsym;

/* One object's dynamic symbol table. */
struct dso {
	uintptr_t base;
	const ElfW(Sym) *symtab;
	const char *strtab;
	const ElfW(Half) *versym;	/* or NULL */
	const uint32_t *gnu_hash;	/* or NULL: then hash */
	const uint32_t *hash;
};

static struct dso libc_dso, shim_dso;	/* once dl_state is 2 */

/* strcmp's answer for equality, here because a sanitizer's runtime calls
 * dlsym to find its own interceptors' targets before its strcmp works */
DL_PLAIN static bool same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A d_ptr of the dynamic section: glibc relocates them in place on most
 * architectures; where it did not, the value is below the load base. */
DL_PLAIN static uintptr_t dyn_ptr(uintptr_t base, ElfW(Addr) p)
{
	return p < base ? base + p : p;
}

DL_PLAIN static bool dso_of_map(struct dso *o, const struct link_map *lm)
{
	*o = (struct dso){ 0 };
	o->base = lm->l_addr;
	for (const ElfW(Dyn) *d = lm->l_ld; d && d->d_tag != DT_NULL; d++) {
		uintptr_t p = dyn_ptr(o->base, d->d_un.d_ptr);
		switch (d->d_tag) {
		case DT_SYMTAB: o->symtab = (const ElfW(Sym) *)p; break;
		case DT_STRTAB: o->strtab = (const char *)p; break;
		case DT_VERSYM: o->versym = (const ElfW(Half) *)p; break;
		case DT_GNU_HASH: o->gnu_hash = (const uint32_t *)p; break;
		case DT_HASH: o->hash = (const uint32_t *)p; break;
		}
	}
	return o->symtab && o->strtab && (o->gnu_hash || o->hash);
}

static void *dso_find(const struct dso *o, const char *name);

/* The shim's own object, and libc's: found by walking the loaded objects
 * from the shim's, libc's by its name (an address of a libc function
 * could be a sanitizer's interceptor of it), and checked to define
 * dlsym. */
DL_PLAIN static bool dso_self(struct dso *o, const struct link_map **self)
{
	struct link_map *lm = NULL;
	Dl_info info;

	if (!dladdr1((const void *)&dso_self, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return false;
	*self = lm;
	return dso_of_map(o, lm);
}

DL_PLAIN static bool is_libc_name(const char *name)
{
	const char *base = name, *want = "libc.so.";

	for (const char *c = name; *c; c++)
		if (*c == '/')
			base = c + 1;
	while (*want && *base == *want)
		base++, want++;
	return !*want;
}

DL_PLAIN static bool dso_libc(struct dso *o, const struct link_map *self)
{
	const struct link_map *lm = self;

	for (unsigned n = 0; lm->l_prev && n < 100000; n++)
		lm = lm->l_prev;
	for (unsigned n = 0; lm && n < 100000; lm = lm->l_next, n++)
		if (lm->l_name && is_libc_name(lm->l_name) && dso_of_map(o, lm) &&
		    dso_find(o, "dlsym") && dso_find(o, "dlvsym"))
			return true;
	return false;
}

/* Is symbol i a default-version definition of name? */
DL_PLAIN static bool sym_is(const struct dso *o, uint32_t i, const char *name)
{
	const ElfW(Sym) *s = &o->symtab[i];
	int type = ELF64_ST_TYPE(s->st_info);

	if (s->st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC) ||
	    ELF64_ST_VISIBILITY(s->st_other) != STV_DEFAULT)
		return false;
	if (o->versym && (o->versym[i] & 0x8000))	/* a hidden, old version */
		return false;
	return same(o->strtab + s->st_name, name);
}

/* The address of name's default definition in o, or NULL (an IFUNC is not
 * resolved: none of the hooked names is one). */
DL_PLAIN static void *dso_find(const struct dso *o, const char *name)
{
	if (o->gnu_hash) {
		const uint32_t *h = o->gnu_hash;
		uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2];
		const uint32_t *buckets = h + 4 + bloom_size * (sizeof(ElfW(Addr)) / 4);
		const uint32_t *chain = buckets + nbuckets;
		uint32_t hash = 5381, i;

		for (const unsigned char *c = (const unsigned char *)name; *c; c++)
			hash = hash * 33 + *c;
		if (nbuckets == 0 || (i = buckets[hash % nbuckets]) < symoffset)
			return NULL;
		for (;; i++) {
			uint32_t h2 = chain[i - symoffset];
			if ((h2 | 1) == (hash | 1) && sym_is(o, i, name))
				break;
			if (h2 & 1)
				return NULL;
		}
		return o->symtab[i].st_value ? (void *)(o->base + o->symtab[i].st_value) : NULL;
	}
	for (uint32_t i = 0; i < o->hash[1]; i++)	/* nchain: the symbol count */
		if (sym_is(o, i, name))
			return (void *)(o->base + o->symtab[i].st_value);
	return NULL;
}

/* The tables, found once: 0 not yet, 1 being published, 2 published, 3
 * not usable.  No lock (not even pthread_once, which a sanitizer
 * intercepts before it can): every caller finds the tables itself until
 * one of them has published its copy. */
static int dl_state;

__attribute__((visibility("hidden"))) void shim_dl_resolve(void);

/* libc's and the shim's tables: the published ones, or found into the
 * caller's copies.  False when they cannot be found. */
DL_PLAIN static bool tables(struct dso *libc, struct dso *shim)
{
	int state = __atomic_load_n(&dl_state, __ATOMIC_ACQUIRE), expect = 0;
	struct dso l = { 0 }, m = { 0 };

	if (state == 2) {
		*libc = libc_dso;
		*shim = shim_dso;
		return true;
	}
	if (state == 3)
		return false;
	const struct link_map *self;

	if (!dso_self(&m, &self) || !dso_libc(&l, self)) {
		(void)__atomic_compare_exchange_n(&dl_state, &expect, 3, false, __ATOMIC_ACQ_REL,
						  __ATOMIC_RELAXED);
		return false;
	}
	if (__atomic_compare_exchange_n(&dl_state, &expect, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED)) {
		libc_dso = l;
		shim_dso = m;
		__atomic_store_n(&shim_real_dlvsym, (dlvsym_fn *)dso_find(&l, "dlvsym"),
				 __ATOMIC_RELEASE);
		__atomic_store_n(&shim_real_dlsym, (dlsym_fn *)dso_find(&l, "dlsym"),
				 __ATOMIC_RELEASE);
		__atomic_store_n(&dl_state, 2, __ATOMIC_RELEASE);
	}
	*libc = l;
	*shim = m;
	return true;
}

/* The stubs call it before they jump to libc's function. */
DL_PLAIN __attribute__((visibility("hidden"))) void shim_dl_resolve(void)
{
	struct dso l, m;

	tables(&l, &m);
}

/* The shim's definition of name if found is libc's default one of it. */
DL_PLAIN static void *ours_instead(const struct dso *libc, const struct dso *shim,
				   const char *name, void *found)
{
	void *mine;

	if (!found || !name || found != dso_find(libc, name))
		return found;
	mine = dso_find(shim, name);
	return mine ? mine : found;
}

/* The stubs' other path: every handle but RTLD_NEXT and RTLD_DEFAULT, and
 * those while libc's functions are not published yet (then glibc answers
 * as for a call from the shim, the best there is). */
DL_PLAIN __attribute__((visibility("hidden"))) void *shim_dlsym(void *handle, const char *name)
{
	struct dso l, m;
	dlsym_fn *real;

	if (!tables(&l, &m) || !(real = (dlsym_fn *)dso_find(&l, "dlsym")))
		return NULL;
	return handle == RTLD_NEXT || !handle ? real(handle, name)
					      : ours_instead(&l, &m, name, real(handle, name));
}

DL_PLAIN __attribute__((visibility("hidden"))) void *shim_dlvsym(void *handle, const char *name,
							 const char *version)
{
	struct dso l, m;
	dlvsym_fn *real;

	if (!tables(&l, &m) || !(real = (dlvsym_fn *)dso_find(&l, "dlvsym")))
		return NULL;
	return handle == RTLD_NEXT || !handle
		       ? real(handle, name, version)
		       : ours_instead(&l, &m, name, real(handle, name, version));
}

/* dlsym(RTLD_NEXT, name) for the shim's own lookups (util/resolve.c,
 * hooks/signals.c): libc's dlsym, called from here, never the exported
 * dlsym, so that the shim's own code reaches no hook of its own
 * (test/internal_calls.sh).  RTLD_NEXT is relative to the shim, as it was
 * through the stub (which jumps to libc's with the caller's address). */
DL_PLAIN __attribute__((visibility("hidden"))) void *shim_next_symbol(const char *name)
{
	return shim_dlsym(RTLD_NEXT, name);
}

/* Found at load, before the program can start threads. */
DL_PLAIN __attribute__((constructor(101))) static void dl_init(void)
{
	shim_dl_resolve();
}

/*
 * The exported stubs: RTLD_NEXT ((void *)-1) and RTLD_DEFAULT (NULL) go
 * straight to libc's function.  On entry the stack is 8 bytes off a 16-byte
 * boundary; three pushes align it for the call.
 */
#ifdef __CET__
#define SHIM_ENDBR "endbr64\n\t"
#else
#define SHIM_ENDBR ""
#endif
#define SHIM_DL_STUB(name, real, slow)                                         \
	__asm__(".text\n\t"                                                    \
		".globl " #name "\n\t"                                         \
		".type " #name ", @function\n"                                 \
		#name ":\n\t"                                                  \
		".cfi_startproc\n\t"                                           \
		SHIM_ENDBR                                                     \
		"leaq 1(%rdi), %rax\n\t"                                       \
		"cmpq $1, %rax\n\t"                                            \
		"ja 2f\n\t"                                                    \
		"movq " #real "(%rip), %rax\n\t"                               \
		"testq %rax, %rax\n\t"                                         \
		"jnz 1f\n\t"                                                   \
		"pushq %rdi\n\t"                                               \
		".cfi_adjust_cfa_offset 8\n\t"                                 \
		"pushq %rsi\n\t"                                               \
		".cfi_adjust_cfa_offset 8\n\t"                                 \
		"pushq %rdx\n\t"                                               \
		".cfi_adjust_cfa_offset 8\n\t"                                 \
		"call shim_dl_resolve\n\t"                                     \
		"popq %rdx\n\t"                                                \
		".cfi_adjust_cfa_offset -8\n\t"                                \
		"popq %rsi\n\t"                                                \
		".cfi_adjust_cfa_offset -8\n\t"                                \
		"popq %rdi\n\t"                                                \
		".cfi_adjust_cfa_offset -8\n\t"                                \
		"movq " #real "(%rip), %rax\n\t"                               \
		"testq %rax, %rax\n\t"                                         \
		"jz 2f\n"                                                      \
		"1:\n\t"                                                       \
		"jmp *%rax\n"                                                  \
		"2:\n\t"                                                       \
		"jmp " #slow "\n\t"                                            \
		".cfi_endproc\n\t"                                             \
		".size " #name ", .-" #name "\n")

SHIM_DL_STUB(dlsym, shim_real_dlsym, shim_dlsym);
SHIM_DL_STUB(dlvsym, shim_real_dlvsym, shim_dlvsym);

#else

/* No dlsym is exported here: libc's is the only one. */
__attribute__((visibility("hidden"))) void *shim_next_symbol(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

#endif /* __x86_64__ */
