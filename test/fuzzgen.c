/*
 * fuzzgen.c - the differential fuzzer's generator (issue 5, "fuzzing"):
 * prints a random scenario in the scenario language (test/scenario/main.c)
 * for a seed: file operations and watch calls on a small name space, so
 * that they collide often.  test/fuzz.fuzz runs each scenario with the
 * scenario runner on the kernel and on the shim and compares the outputs.
 *
 * usage: fuzzgen SEED [LINES]
 */
#include <stdio.h>
#include <stdlib.h>

static unsigned long long s;

static unsigned r(unsigned n)
{
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (unsigned)(s % n);
}

static const char *paths[] = { "a", "b", "d", "e", "d/a", "d/b", "d/e", "e/a", "d/e/a" };
#define NP (sizeof paths / sizeof paths[0])
static const char *masks[] = {
	"IN_ALL_EVENTS", "IN_CREATE|IN_DELETE", "IN_MODIFY|IN_CLOSE_WRITE",
	"IN_MOVE", "IN_ATTRIB|IN_DELETE_SELF|IN_MOVE_SELF", "IN_ALL_EVENTS|IN_ONESHOT",
	"IN_OPEN|IN_ACCESS|IN_CLOSE_NOWRITE", "IN_ALL_EVENTS|IN_EXCL_UNLINK",
	"IN_CREATE|IN_MASK_ADD", "IN_ALL_EVENTS|IN_ONLYDIR",
};
#define NM (sizeof masks / sizeof masks[0])

static const char *p(void)
{
	return paths[r(NP)];
}

int main(int argc, char **argv)
{
	int lines = argc > 2 ? atoi(argv[2]) : 30;

	s = strtoull(argc > 1 ? argv[1] : "1", NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
	printf("# fuzzgen %s %d\nmkdir d\nmkdir d/e\ntouch a\n", argc > 1 ? argv[1] : "1", lines);
	printf("watch w0 . IN_ALL_EVENTS\n");
	for (int i = 0; i < lines; i++) {
		switch (r(20)) {
		case 0: case 1:
			printf("watch w%u %s %s\n", r(4), p(), masks[r(NM)]);
			break;
		case 2:
			printf("rmwatch w%u\n", r(4));
			break;
		case 3: printf("touch %s\n", p()); break;
		case 4: printf("write %s x%u\n", p(), r(100)); break;
		case 5: printf("rm %s\n", p()); break;
		case 6: printf("mkdir %s\n", p()); break;
		case 7: printf("rmdir %s\n", p()); break;
		case 8: case 9: printf("mv %s %s\n", p(), p()); break;
		case 10: printf("chmod %s %s\n", r(2) ? "600" : "700", p()); break;
		case 11: printf("ln %s %s\n", p(), p()); break;
		case 12: printf("cat %s\n", p()); break;
		case 13: printf("trunc %s %u\n", p(), r(3)); break;
		case 14: printf("utime %s\n", p()); break;
		case 15: printf("noreplace %s %s\n", p(), p()); break;
		case 16: printf("fputs %s y\n", p()); break;
		case 17: printf("symlink %s %s\n", p(), p()); break;
		default: printf("drain\n"); break;
		}
	}
	printf("drain\n");
	return 0;
}
