/* darkmap: BGP outage and instability observatory. Subcommand dispatch. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmds.h"

struct subcommand {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "dump", cmd_dump, "decode MRT archives: bgpdump -m lines or JSON elements" },
	{ "replay", cmd_replay, "rebuild routing state from archives; per-country/AS visibility series" },
	{ "detect", cmd_detect, "outages, recoveries, instability from stored series: alerts, JSON, webhook" },
	{ "eval", cmd_eval, "score detected events against a scenario's truth.tsv: found, errors, false alerts" },
	{ "plot", cmd_plot, "draw visibility, peers and interruption graphs (PNG/SVG)" },
	{ "scenario", cmd_scenario, "write a synthetic MRT scenario (e.g. nk-2014)" },
	{ "geo", cmd_geo, "show what each mapping source says about an address" },
	{ "serve", cmd_serve, "HTTP API, live dashboard (world map, timelines) and /metrics over a database" },
	{ "collect", cmd_collect, "a BGP collector: accept sessions, print and keep what peers announce" },
	{ "feed", cmd_feed, "play MRT archives into BGP sessions (one per archived peer, or N copies)" },
	{ "cluster", cmd_cluster, "scale-out: partitions by address range over Redis Streams, merged exactly" },
	{ "demo", cmd_demo, "the North Korea December 2014 reconstruction, end to end" },
};

static void usage(FILE *f)
{
	fputs("usage: darkmap COMMAND [OPTIONS] [ARGS]\n\n"
	      "darkmap watches BGP for outages and instability: from MRT archives\n"
	      "(RouteViews, RIPE RIS, any compression) to alerts, plots and time series.\n\n"
	      "commands:\n", f);
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fputs("\n'darkmap COMMAND --help' describes a command.\n", f);
}

/* What a command printed with stdio may still sit in stdout's buffer: a write that fails there
 * (a full disk, /dev/full) is an error like any other (issue 9), exit 3, not a silent success. */
static int close_stdout(const char *cmd, int rc)
{
	errno = 0;
	int bad = fflush(stdout) != 0;
	int e = errno;
	bad |= ferror(stdout);   /* an earlier flush failed: the data it held is lost */
	if (fclose(stdout) != 0 && !e)
		e = errno;
	if (bad || e) {
		fprintf(stderr, "darkmap %s: writing standard output failed%s%s\n", cmd, e ? ": " : "",
		        e ? strerror(e) : " (output lost)");
		return EXIT_FAILURE_;
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return close_stdout("--help", EXIT_OK);
	}
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return close_stdout(argv[1], subcommands[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "darkmap: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
