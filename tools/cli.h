/*
 * cli.h - what the refscope subcommands share: the command table, usage
 * errors, option parsing, loading a snapshot with a one-line error, and
 * printing reports of snapshot files.
 *
 * Exit status conventions of every subcommand: 0 success, 2 usage error
 * or bad input (one line on stderr: "refscope <cmd>: <reason>"), except
 * `run`, which exits with the profiled program's status.
 */
#ifndef RS_CLI_H
#define RS_CLI_H

#include "report.h"
#include "snapshot.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RS_CLI_EXIT_USAGE 2

/* Subcommand entry points: argv[0] is the subcommand name. */
int rs_cmd_report(int argc, char **argv);
int rs_cmd_run(int argc, char **argv);
int rs_cmd_check(int argc, char **argv);
int rs_cmd_diff(int argc, char **argv);
int rs_cmd_trend(int argc, char **argv);
int rs_cmd_chain(int argc, char **argv);
int rs_cmd_graph(int argc, char **argv);
int rs_cmd_export(int argc, char **argv);

/*
 * The gate of `refscope check` (cmd_check.c) over paths[0..n), with the
 * check options in argv[1..argc) (argv[0] is not read; positional
 * arguments are a usage error).  For `run --check`.  Returns the exit
 * status: 0 passed, 1 failed, 2 usage error or unreadable input.  With
 * paths NULL only the options are checked: -1 when they are valid, else
 * the exit status (0 after --help).
 */
int rs_check_snapshots(const char *cmd, int argc, char **argv,
                       char *const *paths, size_t n);

/* Prints "refscope <cmd>: <message>" on stderr, one line: every message
 * of the tool goes through here.  The message quotes what the user gave
 * (paths, options, environment values) and what files hold; its control
 * characters (a newline in a file name, an ESC) and ill-formed UTF-8 are
 * printed as "\xNN" (text_clean.h), so that the line stays one line and
 * cannot drive a terminal or a CI log.  cmd "" prints "refscope: ". */
void rs_cli_say(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "refscope <cmd>: <reason> (try --help)" like rs_cli_say() and
 * returns RS_CLI_EXIT_USAGE. */
int rs_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepares getopt_long() for a subcommand's argv: from argv[1], no
 * messages of its own (the subcommand prints its usage errors). */
void rs_cli_getopt_start(void);

/*
 * What a subcommand's getopt_long() switch does with a value it has no
 * case for: 'h' (--help) prints usage() and returns 0; ':' (an option
 * without its value) and anything else (an unknown option) print the
 * usage error and return RS_CLI_EXIT_USAGE.
 */
int rs_cli_option_default(const char *cmd, int opt, char **argv,
                          void (*usage)(void));

/* Prints the usage error for what getopt_long() returned as ':' (a value
 * missing) or anything else (an unknown option), naming argv[optind - 1];
 * returns RS_CLI_EXIT_USAGE. */
int rs_cli_option_error(const char *cmd, int opt, char **argv);

/*
 * Checks the value of an option that names a file or directory to write
 * (-o, --html, --out, --write-baseline): empty, or starting with '-' (but
 * "-" alone), it is refused with a usage error naming --<option> (-1):
 * such a value is nearly always the next option, its own value left out
 * (`--html -o page.html` would write a file named "-o").  ./-o names
 * that file.  Returns 0 when the value is a file name.
 */
int rs_cli_file_value(const char *cmd, const char *option, const char *arg);

/* Parses a decimal option value in [min, max] into *out.  On error prints
 * the usage error for --<option> and returns -1 (*out unchanged). */
int rs_cli_parse_uint(const char *cmd, const char *option, const char *arg,
                      uint32_t min, uint32_t max, uint32_t *out);

/* Reads path.  On failure prints "refscope <cmd>: <reader's message>"
 * (after flushing stdout) and returns NULL. */
rs_snapshot_t *rs_cli_load(const char *cmd, const char *path);

/* Prints "refscope <cmd>: out of memory" and returns RS_CLI_EXIT_USAGE. */
int rs_cli_oom(const char *cmd);

/* Sets opt->progress to show "symbolizing N/M findings" when progress
 * is shown (progress.h) and the report goes to `out`, which is not a
 * terminal. */
void rs_cli_report_progress(rs_report_options_t *opt, FILE *out);

/* ---- cli_sink.c: where a report goes ------------------------------------ */

typedef struct rs_cli_sink {
    FILE       *fp;           /* stdout, the temporary file, or FILE itself */
    const char *path;         /* -o FILE, NULL for stdout                  */
    char       *tmp;          /* FILE.XXXXXX, the temporary name; NULL
                                 when FILE is written in place             */
    int         unnamed;      /* fp is an unnamed file (O_TMPFILE), given
                                 the name tmp only when complete          */
} rs_cli_sink_t;

/* Opens the report's destination: stdout when path is NULL, path itself
 * when it exists and is no regular file (/dev/null, a FIFO), else a new
 * temporary file next to path.  Returns 0, or -1 with
 * "refscope <cmd>: cannot write 'path': reason" printed (s then unusable). */
int rs_cli_sink_open(const char *cmd, const char *path, rs_cli_sink_t *s);

/* Flushes and closes s.  With ok and nothing failed, the temporary file is
 * renamed to path (atomically replacing it) and 0 is returned; otherwise
 * the temporary file is removed, -1 returned, and a write failure (when
 * ok) said in one line.  stdout is flushed, never closed. */
int rs_cli_sink_close(const char *cmd, rs_cli_sink_t *s, int ok);

/* Closes a page opened with rs_cli_sink_open() (--html FILE): when writing
 * failed (werr, or the sink) prints "cannot write" and returns -1, leaving
 * an existing FILE as it was; else renames it into place, prints
 * "refscope <cmd>: wrote <path>" on stderr and returns 0. */
int rs_cli_page_close(const char *cmd, rs_cli_sink_t *s, int werr);

/* How reports are printed. */
typedef struct rs_cli_output {
    FILE    *stream;          /* where to, NULL = stdout                   */
    int      json;            /* JSON instead of text                       */
    int      json_array;      /* JSON: always an array, even of one         */
    int      show_reachable;
    uint32_t limit;           /* findings per snapshot, 0 = all             */
    int      focus;           /* rs_focus_t (report_focus.h)                */
    int      temporary;       /* the files are removed afterwards: do not
                                 name them in the reports                   */
    const char *html;         /* write one HTML page here instead of
                                 printing (report_html.h), or NULL          */
} rs_cli_output_t;

/* Result of printing a set of reports. */
typedef struct rs_cli_printed {
    uint32_t reports;         /* snapshots read and printed                 */
    uint32_t unreadable;      /* snapshots that could not be read           */
    uint32_t leaking;         /* snapshots with a leak (in the focus)       */
} rs_cli_printed_t;

/*
 * Reads each of paths[0..n) and prints its report on out->stream (stdout
 * when NULL), in order (with out->html: writes one page of all of them to
 * that file, unless none could be read, and says "refscope <cmd>: wrote
 * FILE" on stderr).
 * A snapshot that cannot be read is reported on stderr as
 * "refscope <cmd>: <reader's message>" and skipped.  Returns 0, or -1
 * when memory is exhausted or the stream (or the page) could not be
 * written (said on stderr); *printed says what happened.
 */
int rs_cli_print_reports(const char *cmd, char *const *paths, size_t n,
                         const rs_cli_output_t *out, rs_cli_printed_t *printed);

#endif /* RS_CLI_H */
