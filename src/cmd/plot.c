#include <stdio.h>

#include "cmd/cmds.h"

int cmd_plot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("darkmap plot: not implemented yet\n", stderr);
	return EXIT_USAGE;
}
