/*
 * scenario.h - the project's scenario runner (test/scenario/runner): what
 * its files share.  A scenario is parsed whole before anything runs
 * (parse.c), into steps that name their operation in one table (ops.c);
 * the steps then run in a fresh directory (run.c), each printing its
 * result, and the events read, in a normalised form (output.c).  Labels
 * name what the steps made: instances, watches and descriptors (labels.c).
 * The language and the output are described at the top of main.c.
 *
 * The runner is a test tool: it holds no lock, starts no thread, and a
 * scenario's mistake (a line it cannot read) stops it before the first
 * step, with the line's number, so that a typo is never taken for a
 * difference between two inotify implementations.
 */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stddef.h>
#include <stdint.h>

/* The most arguments a step takes after its operation's name. */
#define STEP_MAXARGS 8

struct step;

/* One operation of the language.  args spells its arguments, one letter
 * each (upper case: required, lower case: optional, only at the end):
 *   L a label, P a path, N a decimal number, O an octal mode,
 *   M a watch mask (IN_CREATE|IN_DELETE, or a number),
 *   F open flags (rdonly|creat ...), I init flags (the rest of the line,
 *   each nonblock, cloexec or a number), T text (the rest of the line). */
struct op {
	const char *name;
	const char *args;
	int on_instance;			/* takes @J */
	void (*run)(const struct step *s);	/* NULL: spawn, handled by run.c */
};

struct step {
	const struct op *op;
	unsigned line;		/* in the scenario file, from 1 */
	char *text;		/* the line as written, trimmed, for the output */
	char *words;		/* the line cut into words: arg[] points into it */
	const char *inst;	/* the instance's label: "I" unless @J */
	char *arg[STEP_MAXARGS];	/* as written; NULL when left out */
	unsigned nargs;
	long times;		/* repeat N: N, else 1 */
	unsigned end;		/* spawn: the index of the step after its block */
};

struct script {
	char *path;
	struct step *steps;
	unsigned n;
};

/* ops.c */
const struct op *op_find(const char *name);
extern const struct op op_spawn;

/* parse.c: read and check the whole scenario; on a mistake, say where on
 * stderr and return -1. */
int script_load(const char *path, struct script *out);

/* run.c */
void script_run(const struct script *sc, unsigned from, unsigned to);
void run_set_self(const char *exe);

/* labels.c: values by name, one name space per kind; a name never set
 * reads as fallback.  label_export/label_import carry them across the
 * exec of a spawn block as "KIND:NAME=VALUE" words. */
enum label_kind { LABEL_INSTANCE, LABEL_WATCH, LABEL_FD, LABEL_KINDS };
int label_get(enum label_kind kind, const char *name, int fallback);
void label_set(enum label_kind kind, const char *name, int value);
int label_each(enum label_kind kind, int (*fn)(const char *name, int value));
char **label_export(void);
int label_import(const char *word);

/* names.c: the symbols of masks and flags, both ways */
int mask_parse(const char *s, uint32_t *mask);
void mask_format(uint32_t mask, char *buf, size_t size);
int open_flags_parse(const char *s, int *flags);
int init_flag_parse(const char *s, int *flags);
int number_parse(const char *s, int base, long *value);
const char *errno_name(int e);

/* output.c */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void say_failed(const struct step *s, const char *call, int err);
unsigned events_print(const char *buf, size_t n, int quiet, unsigned *overflows);

/* arguments of a step, converted as its op's letters promised (parse.c
 * has checked them); an argument left out reads as fallback */
long step_num(const struct step *s, unsigned i, long fallback);
const char *step_text(const struct step *s, unsigned i, const char *fallback);

#endif
