/*
 * ops.c - the scenario language's operations: each word, its arguments
 * (the letters of scenario.h), whether it takes @J, and its function.
 * README.md of ../shared/conformance describes the same language; this
 * table is the runner's own reading of it.
 */
#include <string.h>

#include "ops.h"

static const struct op ops[] = {
	/* inotify */
	{ "init", "Li", 0, op_init },
	{ "closeinst", "", 1, op_closeinst },
	{ "watch", "LPM", 1, op_watch },
	{ "rmwatch", "L", 1, op_rmwatch },
	{ "drain", "", 1, op_drain },
	{ "drainq", "", 1, op_drainq },
	{ "read", "N", 1, op_read },
	{ "fionread", "", 1, op_fionread },
	{ "poll", "n", 1, op_poll },
	/* files, by path */
	{ "mkdir", "Po", 0, op_mkdir },
	{ "rmdir", "P", 0, op_rmdir },
	{ "touch", "P", 0, op_touch },
	{ "write", "Pt", 0, op_write },
	{ "cat", "P", 0, op_cat },
	{ "fputs", "Pt", 0, op_fputs },
	{ "trunc", "Pn", 0, op_trunc },
	{ "rm", "P", 0, op_rm },
	{ "mv", "PP", 0, op_mv },
	{ "exchange", "PP", 0, op_exchange },
	{ "noreplace", "PP", 0, op_noreplace },
	{ "ln", "PP", 0, op_ln },
	{ "symlink", "PP", 0, op_symlink },
	{ "chmod", "OP", 0, op_chmod },
	{ "chown", "P", 0, op_chown },
	{ "utime", "P", 0, op_utime },
	{ "mkfifo", "P", 0, op_mkfifo },
	{ "ls", "P", 0, op_ls },
	/* descriptors */
	{ "open", "LPf", 0, op_open },
	{ "fdwrite", "Lt", 0, op_fdwrite },
	{ "fdread", "Ln", 0, op_fdread },
	{ "fdtrunc", "Ln", 0, op_fdtrunc },
	{ "fdchmod", "LO", 0, op_fdchmod },
	{ "dup", "LL", 0, op_dup },
	{ "fdclose", "L", 0, op_fdclose },
	/* the rest */
	{ "shell", "T", 0, op_shell },
	{ "sleep", "N", 0, op_sleep },
	{ "echo", "t", 0, op_echo },
	{ NULL, NULL, 0, NULL }
};

/* spawn ... end: parse.c makes the block, run.c runs it */
const struct op op_spawn = { "spawn", "", 0, NULL };

const struct op *op_find(const char *name)
{
	for (const struct op *op = ops; op->name; op++)
		if (!strcmp(op->name, name))
			return op;
	return NULL;
}
