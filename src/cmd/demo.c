/* darkmap demo: the North Korea December 2014 reconstruction, end to end, with the same
 * subcommands a user would run (each step is printed as its command line):
 *   scenario nk-2014 -> replay -> detect -> plot, then a static report page. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmds.h"

static const char usage_text[] =
	"usage: darkmap demo [--out DIR [--force]] [--table FILE|none] [--seed N] [--peers N]\n\n"
	"Reconstructs the North Korea outages of December 2014 end to end:\n"
	"  1. darkmap scenario nk-2014   real MRT files (RouteViews- and RIS-like collectors)\n"
	"  2. darkmap replay             routing state and per-country/AS visibility -> SQLite\n"
	"  3. darkmap detect             outages, recoveries, instability -> alerts\n"
	"  4. darkmap plot               the 2014 graphs (PNG and SVG)\n"
	"and writes DIR/index.html showing them. DIR defaults to out/demo, which the demo owns:\n"
	"each run replaces the scenario and database of the last one. Another DIR that already\n"
	"holds a demo is refused unless --force is given (then it is replaced the same way).\n"
	"--table: the prefix->origin table the scenario starts from; default the real May-2014\n"
	"table ../shared/data/asn/ipasn_20140513.dat.gz when present (DARKMAP_DATA overrides\n"
	"../shared/data), else a generated world table.\n";

static int run_step(int (*fn)(int, char **), int argc, char **argv, const char *stdout_path)
{
	fputs("\n$ darkmap", stdout);
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	if (stdout_path)
		printf(" > %s", stdout_path);
	fputc('\n', stdout);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("darkmap demo: fork");
		return -1;
	}
	if (pid == 0) {
		if (stdout_path && !freopen(stdout_path, "w", stdout))
			_exit(EXIT_FAILURE_);
		int rc = fn(argc, argv);
		if (fflush(stdout) || ferror(stdout)) {   /* _exit skips stdio's own flush: check it here */
			fprintf(stderr, "darkmap %s: writing %s failed: %s\n", argv[0], stdout_path ? stdout_path : "standard output",
			        strerror(errno));
			rc = EXIT_FAILURE_;
		}
		fflush(stderr);
		_exit(rc);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

/* Removes what an earlier demo's scenario step wrote in dir (only the scenario's own names:
 * anything else a user put there stays). */
static int clear_scenario(const char *dir)
{
	static const char *const names[] = { "truth.tsv", "peers.tsv", "route-views.sim", "rrc.sim" };
	char path[1200];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		struct stat st;
		if (lstat(path, &st))
			continue;
		if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS)) {
			fprintf(stderr, "darkmap demo: %s: cannot remove: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int mkdirs(const char *path)
{
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static void cat_file(const char *path, FILE *to)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, to);
	fclose(f);
}

static void html_escape_file(const char *path, FILE *to)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	int c;
	while ((c = fgetc(f)) != EOF) {
		if (c == '<')
			fputs("&lt;", to);
		else if (c == '>')
			fputs("&gt;", to);
		else if (c == '&')
			fputs("&amp;", to);
		else
			fputc(c, to);
	}
	fclose(f);
}

int cmd_demo(int argc, char **argv)
{
	const char *out = NULL, *table = NULL, *seed = "1", *peers = NULL;
	int force = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--force")) {
			force = 1;
		} else if (!strcmp(argv[i], "--table") && i + 1 < argc) {
			table = argv[++i];
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = argv[++i];
		} else if (!strcmp(argv[i], "--peers") && i + 1 < argc) {
			peers = argv[++i];
		} else {
			fprintf(stderr, "darkmap demo: unknown option '%s'\n%s", argv[i], usage_text);
			return EXIT_USAGE;
		}
	}
	/* The default directory is the demo's own: a second `make demo` replaces the first one's
	 * output. A directory the user named is only replaced when asked (--force). */
	if (!out) {
		out = "out/demo";
		force = 1;
	}
	char deftable[1024];
	if (!table) {
		const char *data = getenv("DARKMAP_DATA");
		snprintf(deftable, sizeof deftable, "%s/asn/ipasn_20140513.dat.gz", data ? data : "../shared/data");
		struct stat st;
		table = stat(deftable, &st) == 0 ? deftable : "none";
	}
	char scen[1024], db[1024], alerts[1024], alerts_json[1024], rv[1100], ris[1100], png[1024], svg[1024],
		zoom[1024], html[1024];
	snprintf(scen, sizeof scen, "%s/scenario", out);
	snprintf(db, sizeof db, "%s/darkmap.sqlite", out);
	snprintf(alerts, sizeof alerts, "%s/alerts.txt", out);
	snprintf(alerts_json, sizeof alerts_json, "%s/alerts.jsonl", out);
	snprintf(rv, sizeof rv, "%s/route-views.sim", scen);
	snprintf(ris, sizeof ris, "%s/rrc.sim", scen);
	snprintf(png, sizeof png, "%s/kp-2014-12.png", out);
	snprintf(svg, sizeof svg, "%s/kp-2014-12.svg", out);
	snprintf(zoom, sizeof zoom, "%s/kp-2014-12-22.png", out);
	snprintf(html, sizeof html, "%s/index.html", out);
	if (mkdirs(out)) {
		fprintf(stderr, "darkmap demo: %s: %s\n", out, strerror(errno));
		return EXIT_FAILURE_;
	}
	if (!force) {
		char mark[1100];
		struct stat st;
		snprintf(mark, sizeof mark, "%s/truth.tsv", scen);
		if (!stat(mark, &st)) {
			fprintf(stderr, "darkmap demo: %s already holds a demo (use --force to replace it, "
			        "or another --out)\n", out);
			return EXIT_USAGE;
		}
	} else if (clear_scenario(scen)) {
		return EXIT_FAILURE_;
	}
	unlink(db); /* a fresh database each run */
	printf("darkmap demo: North Korea, December 2014 (AS131279, 175.45.176.0/22, upstream AS4837)\n");
	printf("table: %s\n", strcmp(table, "none") ? table : "generated world table");

	char *a1[16] = { "scenario", "nk-2014", "--out", scen, "--seed", (char *)seed };
	int n1 = 6;
	if (strcmp(table, "none")) {
		a1[n1++] = "--table";
		a1[n1++] = (char *)table;
	}
	if (peers) {
		a1[n1++] = "--peers";
		a1[n1++] = (char *)peers;
	}
	char scen_log[1100];
	snprintf(scen_log, sizeof scen_log, "%s/scenario.log", out);
	if (run_step(cmd_scenario, n1, a1, scen_log)) {
		fprintf(stderr, "darkmap demo: the scenario step failed (see %s)\n", scen_log);
		return EXIT_FAILURE_;
	}
	cat_file(scen_log, stdout);

	/* every country (so that "no alert elsewhere" is checked), KP's AS and the world */
	char *a2[] = { "replay", rv, ris, "--db", db, "--rows", "countries", "--asn", "131279", "-q" };
	if (run_step(cmd_replay, 10, a2, NULL) > 1) {
		fprintf(stderr, "darkmap demo: the replay step failed\n");
		return EXIT_FAILURE_;
	}
	char *a3[] = { "detect", "--db", db, "--json", alerts_json };
	if (run_step(cmd_detect, 5, a3, alerts)) {
		fprintf(stderr, "darkmap demo: the detect step failed\n");
		return EXIT_FAILURE_;
	}
	printf("\nalerts:\n");
	cat_file(alerts, stdout);

	char *a4[] = { "plot", "--db", db, "--country", "KP", "--from", "2014-12-19", "--to", "2014-12-29", "--out", png };
	char *a5[] = { "plot", "--db", db, "--country", "KP", "--from", "2014-12-19", "--to", "2014-12-29", "--out", svg };
	char *a6[] = { "plot", "--db", db, "--country", "KP", "--from", "2014-12-21T12:00", "--to", "2014-12-23T12:00",
		       "--out", zoom };
	if (run_step(cmd_plot, 11, a4, NULL) || run_step(cmd_plot, 11, a5, NULL) || run_step(cmd_plot, 11, a6, NULL)) {
		fprintf(stderr, "darkmap demo: the plot step failed\n");
		return EXIT_FAILURE_;
	}

	FILE *h = fopen(html, "w");
	if (!h) {
		fprintf(stderr, "darkmap demo: %s: %s\n", html, strerror(errno));
		return EXIT_FAILURE_;
	}
	fprintf(h, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>darkmap: North Korea, December "
	           "2014</title>\n<style>body{font-family:sans-serif;max-width:1240px;margin:2em auto}"
	           "pre{background:#f4f4f4;padding:1em;white-space:pre-wrap}</style></head><body>\n"
	           "<h1>North Korea, December 2014</h1>\n<p>AS131279 (Star Joint Venture), 175.45.176.0/22 as four "
	           "/24s, single upstream China Unicom AS4837. Reconstructed by <code>darkmap demo</code> from "
	           "simulated collectors playing the publicly reported timeline (data/scenarios/nk-2014.tsv).</p>\n"
	           "<h2>Alerts</h2>\n<pre>");
	html_escape_file(alerts, h);
	fprintf(h, "</pre>\n<h2>Visibility, 19-29 December</h2>\n<img src=\"kp-2014-12.png\" width=\"1200\" "
	           "alt=\"KP visibility\">\n<h2>21-23 December</h2>\n<img src=\"kp-2014-12-22.png\" width=\"1200\" "
	           "alt=\"KP 21-23 December\">\n<p>Data: <a href=\"darkmap.sqlite\">darkmap.sqlite</a> (schema in the "
	           "README), <a href=\"alerts.jsonl\">alerts.jsonl</a>, <a href=\"kp-2014-12.svg\">SVG</a>.</p>\n"
	           "<p>The live dashboard (world map, timelines, events): run <code>darkmap serve --db "
	           "darkmap.sqlite</code> in this folder and open <a href=\"http://127.0.0.1:8080/\">"
	           "http://127.0.0.1:8080/</a>.</p>\n"
	           "</body></html>\n");
	if (ferror(h) | fclose(h)) {
		fprintf(stderr, "darkmap demo: %s: write failed: %s\n", html, strerror(errno));
		return EXIT_FAILURE_;
	}
	char abs[4096];
	if (!realpath(html, abs))
		snprintf(abs, sizeof abs, "%s", html);
	printf("\nplots:    %s\n          %s\n          %s\n", png, svg, zoom);
	printf("alerts:   %s (text), %s (JSON Lines)\n", alerts, alerts_json);
	printf("database: %s\n", db);
	printf("static page: file://%s\n", abs);
	/* the live dashboard: the exact command (this binary, the database's absolute path) */
	char exe[4096], dbabs[4096];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (el > 0)
		exe[el] = 0;
	else
		snprintf(exe, sizeof exe, "darkmap");
	if (!realpath(db, dbabs))
		snprintf(dbabs, sizeof dbabs, "%s", db);
	printf("serve:    %s serve --db %s\n", exe, dbabs);
	printf("dashboard: http://127.0.0.1:8080/ (while darkmap serve runs)\n");
	return EXIT_OK;
}
