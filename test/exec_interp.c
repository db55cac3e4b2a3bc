/* exec_interp.c - a program whose ELF interpreter is in a watched directory (test/exec_events.c). */
int main(void)
{
	return 0;
}
