/*
 * internals.c - reaching what the library does not export, for the tests
 * that look at its internal state (helpers.h, shim_hidden_symbol()).
 *
 * The library exports only the interposed libc names and its public API
 * (include/inotify-shim.h); everything else is hidden (-fvisibility=hidden)
 * and so absent from its dynamic symbol table.  The static symbol table
 * (.symtab) still names it until the library is stripped, which make check
 * never does: a hidden symbol's address is the library's load address plus
 * its value there.
 */
#include "helpers.h"

#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct loaded {
	ElfW(Addr) base;
	char path[4096];
};

static int find_shim(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct loaded *l = arg;
	const char *slash;

	(void)size;
	slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	if (!slash || strncmp(slash + 1, "libinotify-shim.so", 18) ||
	    strlen(info->dlpi_name) >= sizeof l->path)
		return 0;
	l->base = info->dlpi_addr;
	strcpy(l->path, info->dlpi_name);
	return 1;
}

/* The value of symbol name in the ELF image img of size bytes, or 0. */
static ElfW(Addr) symtab_value(const unsigned char *img, size_t size, const char *name)
{
	const ElfW(Ehdr) *eh = (const void *)img;
	const ElfW(Shdr) *sh;

	if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof *sh > size)
		return 0;
	sh = (const void *)(img + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const ElfW(Sym) *sym = (const void *)(img + sh[i].sh_offset);
		const char *str;
		size_t n = sh[i].sh_size / sizeof *sym;

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum ||
		    sh[i].sh_offset + sh[i].sh_size > size ||
		    sh[sh[i].sh_link].sh_offset + sh[sh[i].sh_link].sh_size > size)
			continue;
		str = (const char *)(img + sh[sh[i].sh_link].sh_offset);
		for (size_t k = 0; k < n; k++)
			if (sym[k].st_name < sh[sh[i].sh_link].sh_size &&
			    sym[k].st_shndx != SHN_UNDEF && !strcmp(str + sym[k].st_name, name))
				return sym[k].st_value;
	}
	return 0;
}

void *shim_hidden_symbol(const char *name)
{
	struct loaded l = { 0, "" };
	struct stat st;
	ElfW(Addr) value = 0;
	void *img;
	int fd;

	if (!dl_iterate_phdr(find_shim, &l))
		return NULL;
	fd = open(l.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (img != MAP_FAILED) {
			value = symtab_value(img, (size_t)st.st_size, name);
			munmap(img, (size_t)st.st_size);
		}
	}
	close(fd);
	return value ? (void *)(l.base + value) : NULL;
}
