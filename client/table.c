/* table.c: column-aligned tables (widths are measured first, then rows are printed) and
 * the units brokerctl shows numbers in. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "table.h"

char *cell_text(const json_t *value)
{
	if (json_is_string(value))
		return strdup(json_string_value(value));
	if (!value)
		return strdup("-");
	return json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(8));
}

static void print_row(FILE *out, int indent, char **cells, const size_t *width, size_t ncols)
{
	fprintf(out, "%*s", indent, "");
	for (size_t c = 0; c < ncols; c++) {
		const char *text = cells[c] ? cells[c] : "";
		if (c + 1 < ncols)
			fprintf(out, "%-*s  ", (int)width[c], text);
		else
			fprintf(out, "%s\n", text);
	}
}

void table_print(FILE *out, const char *const *headers, size_t ncols, const json_t *rows)
{
	table_print_indented(out, 0, headers, ncols, rows);
}

void table_print_indented(FILE *out, int indent, const char *const *headers, size_t ncols,
			  const json_t *rows)
{
	size_t nrows = json_array_size(rows);
	char **cells = calloc((nrows + 1) * ncols, sizeof *cells);
	size_t *width = calloc(ncols, sizeof *width);
	if (!cells || !width)
		goto done;
	for (size_t c = 0; c < ncols; c++)
		cells[c] = strdup(headers[c]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++)
			cells[(r + 1) * ncols + c] =
				cell_text(json_array_get(json_array_get(rows, r), c));
	for (size_t i = 0; i < (nrows + 1) * ncols; i++)
		if (cells[i] && strlen(cells[i]) > width[i % ncols])
			width[i % ncols] = strlen(cells[i]);
	for (size_t r = 0; r <= nrows; r++)
		print_row(out, indent, cells + r * ncols, width, ncols);
done:
	for (size_t i = 0; cells && i < (nrows + 1) * ncols; i++)
		free(cells[i]);
	free(cells);
	free(width);
}

const char *fmt_bytes(char *buf, size_t size, double n)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	if (fabs(n) < 1024) {
		snprintf(buf, size, "%.0f B", n);
		return buf;
	}
	size_t u = 0;
	for (n /= 1024; fabs(n) >= 1024 && u + 1 < sizeof units / sizeof *units; u++)
		n /= 1024;
	snprintf(buf, size, "%.1f %s", n, units[u]);
	return buf;
}

const char *fmt_duration(char *buf, size_t size, double seconds)
{
	long long s = seconds > 0 ? (long long)seconds : 0;
	long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
	if (d)
		snprintf(buf, size, "%lldd %lldh %lldm", d, h, m);
	else if (h)
		snprintf(buf, size, "%lldh %lldm", h, m);
	else if (m)
		snprintf(buf, size, "%lldm %llds", m, s % 60);
	else
		snprintf(buf, size, "%llds", s);
	return buf;
}

const char *fmt_date(char *buf, size_t size, double unix_time)
{
	time_t t = (time_t)unix_time;
	struct tm tm;
	char zone[8];
	if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
	    strftime(zone, sizeof zone, "%z", &tm) != 5) {
		snprintf(buf, size, "%.0f", unix_time);
		return buf;
	}
	size_t len = strlen(buf); /* +0100 as +01:00 */
	snprintf(buf + len, size - len, "%.3s:%s", zone, zone + 3);
	return buf;
}
