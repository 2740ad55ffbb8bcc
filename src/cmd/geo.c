#include <stdio.h>

#include "cmd/cmds.h"

int cmd_geo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("darkmap geo: not implemented yet\n", stderr);
	return EXIT_USAGE;
}
