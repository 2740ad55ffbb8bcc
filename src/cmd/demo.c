#include <stdio.h>

#include "cmd/cmds.h"

int cmd_demo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("darkmap demo: not implemented yet\n", stderr);
	return EXIT_USAGE;
}
