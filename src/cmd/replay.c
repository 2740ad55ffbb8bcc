#include <stdio.h>

#include "cmd/cmds.h"

int cmd_replay(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("darkmap replay: not implemented yet\n", stderr);
	return EXIT_USAGE;
}
