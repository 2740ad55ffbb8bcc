/* darkmap feed: placeholder until the MRT player lands. */
#include <stdio.h>

#include "cmd/cmds.h"

int cmd_feed(int argc, char **argv)
{
	fputs("darkmap feed: not yet\n", stderr);
	return EXIT_USAGE;
}
