/* table.h: brokerd's numbers for people: aligned text tables, key/value lines, sizes with
 * units, durations and dates. */
#ifndef BRK_TABLE_H
#define BRK_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* table_print: prints a header row and rows (an array of arrays of JSON values, borrowed)
 * with columns padded to their widest cell; strings print bare, other values as JSON. */
void table_print(FILE *out, const char *const *headers, size_t ncols, const json_t *rows);

/* table_print_indented: table_print with every line starting with indent spaces. */
void table_print_indented(FILE *out, int indent, const char *const *headers, size_t ncols,
			  const json_t *rows);

/* cell_text: a JSON value as table text (malloc'ed): strings bare, others as JSON. */
char *cell_text(const json_t *value);

/* fmt_bytes: n bytes as "512 B", "1.5 KiB", "16.0 MiB", "2.3 GiB" in buf; returns buf. */
const char *fmt_bytes(char *buf, size_t size, double n);

/* fmt_duration: seconds as "42s", "5m 3s", "4h 12m", "3d 4h 12m" in buf; returns buf. */
const char *fmt_duration(char *buf, size_t size, double seconds);

/* fmt_date: a Unix time as local time in ISO 8601, "2026-11-28T01:02:03+01:00"; returns
 * buf. */
const char *fmt_date(char *buf, size_t size, double unix_time);

#endif
