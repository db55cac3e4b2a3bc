/*
 * labels.c - the names a scenario gives to what it makes: an instance's
 * fd ("init J", "I" from the start), a watch's wd ("watch w ..."), a
 * descriptor ("open f ...").  Three name spaces, each a small list: the
 * scenarios name a handful of things.
 *
 * A spawn block runs in a new process image that inherits the descriptors
 * (those without close-on-exec), so the labels go with it: label_export
 * writes each as a "KIND:NAME=VALUE" word for the child's command line,
 * label_import reads one back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

struct label {
	char *name;
	int value;
};

static struct {
	struct label *v;
	unsigned n, cap;
} tables[LABEL_KINDS];

static const char kind_letter[LABEL_KINDS] = { 'i', 'w', 'f' };

static struct label *find(enum label_kind kind, const char *name)
{
	for (unsigned i = 0; i < tables[kind].n; i++)
		if (!strcmp(tables[kind].v[i].name, name))
			return &tables[kind].v[i];
	return NULL;
}

int label_get(enum label_kind kind, const char *name, int fallback)
{
	const struct label *l = find(kind, name);

	return l ? l->value : fallback;
}

void label_set(enum label_kind kind, const char *name, int value)
{
	struct label *l = find(kind, name);

	if (!l) {
		if (tables[kind].n == tables[kind].cap) {
			unsigned cap = tables[kind].cap ? 2 * tables[kind].cap : 16;
			struct label *v = realloc(tables[kind].v, cap * sizeof *v);

			if (!v) {
				perror("runner: labels");
				exit(2);
			}
			tables[kind].v = v;
			tables[kind].cap = cap;
		}
		l = &tables[kind].v[tables[kind].n++];
		l->name = strdup(name);
		if (!l->name) {
			perror("runner: labels");
			exit(2);
		}
	}
	l->value = value;
}

/* fn(name, value) for each label of kind, in the order they were made;
 * stops at the first non-zero return, and returns it. */
int label_each(enum label_kind kind, int (*fn)(const char *name, int value))
{
	for (unsigned i = 0; i < tables[kind].n; i++) {
		int r = fn(tables[kind].v[i].name, tables[kind].v[i].value);

		if (r)
			return r;
	}
	return 0;
}

/* Every label as a word, in a NULL-terminated array (malloc'd, for the
 * child's argv: the caller execs or exits soon after). */
char **label_export(void)
{
	unsigned total = 0, k = 0;
	char **words;

	for (int kind = 0; kind < LABEL_KINDS; kind++)
		total += tables[kind].n;
	words = calloc(total + 1, sizeof *words);
	if (!words)
		return NULL;
	for (int kind = 0; kind < LABEL_KINDS; kind++)
		for (unsigned i = 0; i < tables[kind].n; i++) {
			const struct label *l = &tables[kind].v[i];

			if (asprintf(&words[k++], "%c:%s=%d", kind_letter[kind],
				     l->name, l->value) < 0)
				return NULL;
		}
	return words;
}

int label_import(const char *word)
{
	const char *eq = strrchr(word, '=');
	const char *letter = memchr(kind_letter, word[0], LABEL_KINDS);
	char name[256];
	long value;

	if (!letter || word[1] != ':' || !eq || eq - word - 2 <= 0 ||
	    (size_t)(eq - word - 2) >= sizeof name || number_parse(eq + 1, 10, &value))
		return -1;
	memcpy(name, word + 2, (size_t)(eq - word - 2));
	name[eq - word - 2] = '\0';
	label_set((enum label_kind)(letter - kind_letter), name, (int)value);
	return 0;
}
