/*
 * parse.c - reading a scenario: one operation a line, read whole and
 * checked before anything runs.  A line is
 *
 *     OP [@J] ARG...          arguments as the op's letters say (scenario.h)
 *     repeat N OP [@J] ARG... the one operation, N times
 *     spawn ... end           the lines between, in a new process image
 *
 * Blank lines and lines whose first non-blank character is # are skipped.
 * Words are separated by blanks; a text argument (T) is the rest of the
 * line as written, so that a shell command keeps its quoting and spacing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

struct parser {
	const char *path;
	unsigned line;
	struct script *sc;
	unsigned cap;
	int open_spawn;		/* the index of the spawn awaiting its end, or -1 */
};

static int fail(const struct parser *p, const char *what, const char *word)
{
	fprintf(stderr, "%s:%u: %s%s%s\n", p->path, p->line, what,
		word ? ": " : "", word ? word : "");
	return -1;
}

/* The next blank-separated word, NUL-terminated in place; NULL at the end. */
static char *next_word(char **cursor)
{
	char *s = *cursor, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s) {
		*cursor = s;
		return NULL;
	}
	w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*cursor = s;
	return w;
}

/* The rest of the line, after its leading blanks; NULL if nothing is left. */
static char *rest_of_line(char **cursor)
{
	char *s = *cursor;

	while (*s == ' ' || *s == '\t')
		s++;
	*cursor = s + strlen(s);
	return *s ? s : NULL;
}

/* Is word what letter promises? */
static int arg_valid(char letter, const char *word)
{
	long v;
	uint32_t m;
	int f = 0;

	switch (toupper((unsigned char)letter)) {
	case 'N': return number_parse(word, 10, &v) == 0;
	case 'O': return number_parse(word, 8, &v) == 0;
	case 'M': return mask_parse(word, &m) == 0;
	case 'F': return open_flags_parse(word, &f) == 0;
	case 'I': return init_flag_parse(word, &f) == 0;
	default: return 1;
	}
}

/* The arguments after the op's name, as its letters say. */
static int parse_args(struct parser *p, struct step *s, char **cursor)
{
	const char *letters = s->op->args;
	char *w;

	for (unsigned i = 0; letters[i]; i++) {
		char letter = letters[i];

		if (letter == 'T' || letter == 't')
			w = rest_of_line(cursor);
		else if (letter == 'I' || letter == 'i')
			break;
		else
			w = next_word(cursor);
		if (!w) {
			if (isupper((unsigned char)letter))
				return fail(p, "too few arguments", s->op->name);
			break;
		}
		if (!arg_valid(letter, w))
			return fail(p, "not a valid argument", w);
		s->arg[s->nargs++] = w;
	}
	if (strchr(letters, 'I') || strchr(letters, 'i')) {
		while ((w = next_word(cursor))) {
			if (s->nargs == STEP_MAXARGS)
				return fail(p, "too many flags", w);
			if (!arg_valid('I', w))
				return fail(p, "not an init flag", w);
			s->arg[s->nargs++] = w;
		}
	}
	if ((w = next_word(cursor)))
		return fail(p, "too many arguments", w);
	return 0;
}

static struct step *new_step(struct parser *p, char *words)
{
	struct script *sc = p->sc;
	struct step *s;

	if (sc->n == p->cap) {
		unsigned cap = p->cap ? 2 * p->cap : 64;
		struct step *v = realloc(sc->steps, cap * sizeof *v);

		if (!v)
			return NULL;
		sc->steps = v;
		p->cap = cap;
	}
	s = &sc->steps[sc->n++];
	memset(s, 0, sizeof *s);
	s->line = p->line;
	s->words = words;
	s->text = strdup(words);
	s->inst = "I";
	s->times = 1;
	return s->text ? s : NULL;
}

/* One operation: "OP [@J] ARG...", from *cursor (which it consumes). */
static int parse_op(struct parser *p, struct step *s, char **cursor)
{
	char *name = next_word(cursor);

	s->op = op_find(name);
	if (!s->op)
		return fail(p, "no such operation", name);
	*cursor += strspn(*cursor, " \t");
	if (s->op->on_instance && **cursor == '@') {
		char *w = next_word(cursor);

		if (!w[1])
			return fail(p, "an instance's label is missing after @", NULL);
		s->inst = w + 1;
	}
	return parse_args(p, s, cursor);
}

static int word_is(const char *line, size_t len, const char *word)
{
	return strlen(word) == len && !strncmp(line, word, len);
}

/* spawn starts a block, end closes it: the block's steps run in a child. */
static int parse_block(struct parser *p, struct step *s, int is_spawn)
{
	if (is_spawn != (p->open_spawn < 0))
		return fail(p, is_spawn ? "spawn inside spawn" : "end without spawn", NULL);
	if (is_spawn) {
		s->op = &op_spawn;
		p->open_spawn = (int)(s - p->sc->steps);
		return 0;
	}
	p->sc->n--;	/* end is no step */
	free(s->text);
	free(s->words);
	p->sc->steps[p->open_spawn].end = p->sc->n;
	p->open_spawn = -1;
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	size_t len = strcspn(line, " \t");
	char *cursor = line + len, *n;
	struct step *s = new_step(p, line);
	long times;

	if (!s)
		return fail(p, "out of memory", NULL);
	if (word_is(line, len, "spawn") || word_is(line, len, "end")) {
		if (line[len])
			return fail(p, "nothing may follow spawn or end", NULL);
		return parse_block(p, s, line[0] == 's');
	}
	if (!word_is(line, len, "repeat")) {
		cursor = line;
		return parse_op(p, s, &cursor);
	}
	n = next_word(&cursor);
	if (!n || number_parse(n, 10, &times) || times < 0)
		return fail(p, "repeat wants a count", n);
	s->times = times;
	cursor += strspn(cursor, " \t");
	if (!*cursor)
		return fail(p, "repeat wants an operation", NULL);
	free(s->text);
	s->text = strdup(cursor);
	if (!s->text)
		return fail(p, "out of memory", NULL);
	return parse_op(p, s, &cursor);
}

/* The line without its leading and trailing blanks (and newline). */
static char *trim(char *s)
{
	size_t n;

	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int script_load(const char *path, struct script *out)
{
	struct parser p = { .path = path, .sc = out, .open_spawn = -1 };
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t size = 0;
	int r = 0;

	memset(out, 0, sizeof *out);
	if (!f) {
		perror(path);
		return -1;
	}
	out->path = strdup(path);
	if (!out->path)
		r = fail(&p, "out of memory", NULL);
	while (r == 0 && getline(&buf, &size, f) >= 0) {
		char *line = trim(buf);

		p.line++;
		if (*line && *line != '#') {
			/* the step's words: they live as long as the run */
			char *copy = strdup(line);

			r = copy ? parse_line(&p, copy) : fail(&p, "out of memory", NULL);
		}
	}
	free(buf);
	fclose(f);
	if (r == 0 && p.open_spawn >= 0) {
		p.line = out->steps[p.open_spawn].line;
		r = fail(&p, "spawn without end", NULL);
	}
	return r;
}

static char step_letter(const struct step *s, unsigned i)
{
	const char *letters = s->op->args;
	size_t n = strlen(letters);

	if (!n)
		return 0;
	return i < n ? letters[i] : letters[n - 1];
}

long step_num(const struct step *s, unsigned i, long fallback)
{
	char letter = (char)toupper((unsigned char)step_letter(s, i));
	long v;

	if (i >= s->nargs || number_parse(s->arg[i], letter == 'O' ? 8 : 10, &v))
		return fallback;
	return v;
}

const char *step_text(const struct step *s, unsigned i, const char *fallback)
{
	return i < s->nargs ? s->arg[i] : fallback;
}
