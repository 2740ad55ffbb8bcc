/* darkmap serve: the HTTP API, the live dashboard and /metrics over a darkmap database
 * (src/http; docs/serve.md). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmds.h"
#include "http/http.h"

static const char usage_text[] =
    "usage: darkmap serve --db FILE [--bind ADDR] [--port N] [--token-file FILE]\n"
    "                     [--web DIR] [--node-modules DIR] [--max-conns N] [--timeout S]\n"
    "                     [--poll-ms N] [--port-file FILE] [--nice N]\n\n"
    "Serves the JSON API (/api/entities, /api/series, /api/events, /api/peers,\n"
    "/api/collectors, /api/stream), Prometheus metrics (/metrics) and the dashboard (/)\n"
    "over a darkmap database, opened read-only: replay, detect or collect may write it\n"
    "meanwhile, and the dashboard follows (the stream polls the database every second).\n\n"
    "options:\n"
    "  --db FILE           darkmap SQLite database, or a postgresql://... URI of one\n"
    "                      (never written)\n"
    "  --bind ADDR         address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port N            port (default 8080; 0: any free port, printed)\n"
    "  --token-file FILE   bearer token (first line) for POST /api/events/ID/ack and\n"
    "                      POST /api/reload; without it those answer 403\n"
    "  --web DIR           dashboard folder (default: the repository's web/)\n"
    "  --node-modules DIR  the npm folder holding the dashboard's libraries (default: beside web/)\n"
    "  --max-conns N       open connections at most (default 256; more wait to be accepted)\n"
    "  --timeout S         a request must arrive within S seconds (default 10)\n"
    "  --poll-ms N         the stream's database poll period (default 1000)\n"
    "  --port-file FILE    write the port listened on to FILE (for scripts using --port 0)\n"
    "  --nice N            run at CPU priority N (0-19): beside a writer on the same cores,\n"
    "                      e.g. 10 lets replay or collect have the CPU first\n"
    "  -h, --help          this text\n\n"
    "Prints the dashboard's URL on standard output; stops on SIGINT or SIGTERM.\n";

static int is_dir_with(const char *dir, const char *file)
{
	char p[2 * PATH_MAX + 64];
	struct stat st;
	if (snprintf(p, sizeof p, "%s/%s", dir, file) >= (int)sizeof p)
		return 0;
	return !stat(p, &st);
}

/* The dashboard folder: given, $DARKMAP_WEB, or web/ of the tree the binary was built in
 * (build/rel/darkmap, ./darkmap), or ./web. */
static const char *find_web(const char *given, char *buf, size_t n)
{
	if (given)
		return given;
	const char *env = getenv("DARKMAP_WEB");
	if (env && *env)
		return env;
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (l > 0) {
		exe[l] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		static const char *const rel[] = { "web", "../web", "../../web", "../share/darkmap/web" };
		for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
			snprintf(buf, n, "%s/%s", exe, rel[i]);
			if (is_dir_with(buf, "index.html"))
				return buf;
		}
	}
	return "web";
}

static int read_token(const char *path, char *tok, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "darkmap serve: --token-file %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!fgets(tok, (int)n, f))
		tok[0] = 0;
	fclose(f);
	tok[strcspn(tok, "\r\n")] = 0;
	if (strlen(tok) < 16) {
		fprintf(stderr,
		        "darkmap serve: --token-file %s: want a token of at least 16 characters on the first line\n",
		        path);
		return -1;
	}
	return 0;
}

static int parse_uint(const char *opt, const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *e;
	errno = 0;
	unsigned long x = strtoul(v, &e, 10);
	if (!*v || *e || errno || x < lo || x > hi || v[0] == '-') {
		fprintf(stderr, "darkmap serve: %s '%s': want a whole number from %u to %u\n", opt, v, lo, hi);
		return -1;
	}
	*out = (unsigned)x;
	return 0;
}

void dashboard_paths(struct http_opts *o, const char *web, const char *nm, struct dashboard_paths *buf,
                     const char *who)
{
	o->web_dir = find_web(web, buf->web, sizeof buf->web);
	if (!nm)
		nm = getenv("DARKMAP_NODE_MODULES");
	if (!nm || !*nm) {
		snprintf(buf->nm, sizeof buf->nm, "%s/../node_modules", o->web_dir);
		nm = buf->nm;
	}
	o->node_modules = nm;
	if (!is_dir_with(nm, "world-atlas/countries-110m.json") || !is_dir_with(nm, "uplot/dist/uPlot.iife.min.js"))
		fprintf(stderr,
		        "darkmap %s: %s lacks the dashboard's libraries (world-atlas, d3-geo, uplot: "
		        "scripts/bootstrap runs npm install): the map and charts will not draw\n",
		        who, nm);
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "web", required_argument, NULL, 'w' },
		{ "node-modules", required_argument, NULL, 'n' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "poll-ms", required_argument, NULL, 'P' },
		{ "port-file", required_argument, NULL, 'F' },
		{ "nice", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_opts o;
	http_opts_default(&o);
	const char *web = NULL, *nm = NULL, *token_file = NULL, *port_file = NULL;
	unsigned v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.db_path = optarg; break;
		case 'b': o.bind = optarg; break;
		case 'p':
			if (parse_uint("--port", optarg, 0, 65535, &v))
				return EXIT_USAGE;
			o.port = (uint16_t)v;
			break;
		case 'T': token_file = optarg; break;
		case 'w': web = optarg; break;
		case 'n': nm = optarg; break;
		case 'm':
			if (parse_uint("--max-conns", optarg, 1, 100000, &o.max_conns))
				return EXIT_USAGE;
			break;
		case 't':
			if (parse_uint("--timeout", optarg, 1, 3600, &o.request_timeout_s))
				return EXIT_USAGE;
			break;
		case 'P':
			if (parse_uint("--poll-ms", optarg, 50, 60000, &o.poll_ms))
				return EXIT_USAGE;
			break;
		case 'F': port_file = optarg; break;
		case 'N':
			if (parse_uint("--nice", optarg, 0, 19, &v))
				return EXIT_USAGE;
			/* the dashboard can wait; ingest falling behind cannot be undone */
			if (setpriority(PRIO_PROCESS, 0, (int)v))
				fprintf(stderr, "darkmap serve: --nice %u: %s\n", v, strerror(errno));
			break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc || !o.db_path) {
		fprintf(stderr, "darkmap serve: %s\n%s", o.db_path ? "unexpected argument" : "--db FILE is required",
		        usage_text);
		return EXIT_USAGE;
	}
	char token[256];
	if (token_file) {
		if (read_token(token_file, token, sizeof token))
			return EXIT_USAGE;
		o.token = token;
	}
	struct dashboard_paths dp;
	dashboard_paths(&o, web, nm, &dp, "serve");
	struct dm_error err = { 0 };
	struct http_server *s = http_server_new(&o, &err);
	if (!s) {
		fprintf(stderr, "darkmap serve: %s\n", err.what);
		return EXIT_FAILURE_;
	}
	signal(SIGPIPE, SIG_IGN); /* a client gone mid-answer is an error on its socket, not a signal */
	int port = http_server_port(s);
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f)) {
			fprintf(stderr, "darkmap serve: --port-file %s: %s\n", port_file, strerror(errno));
			http_server_free(s);
			return EXIT_FAILURE_;
		}
	}
	int v6 = strchr(o.bind, ':') != NULL;
	if (strcmp(o.bind, "127.0.0.1") && strcmp(o.bind, "::1") && strncmp(o.bind, "127.", 4))
		fprintf(stderr, "darkmap serve: listening on %s, not loopback: whoever reaches it reads the API\n",
		        o.bind);
	fprintf(stderr, "darkmap serve: %s (read-only), dashboard %s, %s\n", o.db_path, o.web_dir,
	        o.token ? "state-changing endpoints need the bearer token"
	                : "state-changing endpoints off (no --token-file)");
	printf("http://%s%s%s:%d/\n", v6 ? "[" : "", o.bind, v6 ? "]" : "", port);
	fflush(stdout);
	http_server_run(s, 1);
	http_server_free(s);
	fprintf(stderr, "darkmap serve: stopped\n");
	return EXIT_OK;
}
