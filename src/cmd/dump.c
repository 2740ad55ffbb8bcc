#include <stdio.h>

#include "cmd/cmds.h"

int cmd_dump(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("darkmap dump: not implemented yet\n", stderr);
	return EXIT_USAGE;
}
