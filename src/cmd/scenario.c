#include <stdio.h>

#include "cmd/cmds.h"

int cmd_scenario(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("darkmap scenario: not implemented yet\n", stderr);
	return EXIT_USAGE;
}
