/* Subcommands: one file each in src/cmd/. */
#ifndef DM_CMD_CMDS_H
#define DM_CMD_CMDS_H

int cmd_dump(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_scenario(int argc, char **argv);
int cmd_geo(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_feed(int argc, char **argv);
int cmd_cluster(int argc, char **argv);

/* The dashboard's folder (--web, else beside the binary) and its npm libraries (--node-modules,
 * $DARKMAP_NODE_MODULES, else web/../node_modules) into o, a warning when they lack the map's
 * libraries: darkmap serve and darkmap collect --serve. */
struct http_opts;
struct dashboard_paths { char web[4160], nm[4160]; };
void dashboard_paths(struct http_opts *o, const char *web, const char *nm, struct dashboard_paths *buf,
                     const char *who);

/* Exit codes shared by all subcommands. */
enum { EXIT_OK = 0, EXIT_DATA_ERRORS = 1, EXIT_USAGE = 2, EXIT_FAILURE_ = 3 };

#endif
