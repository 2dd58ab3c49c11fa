/* table.c: column-aligned tables; widths are measured first, then rows are printed. */
#include <stdlib.h>
#include <string.h>

#include "table.h"

char *cell_text(const json_t *value)
{
	if (json_is_string(value))
		return strdup(json_string_value(value));
	if (!value)
		return strdup("-");
	return json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(8));
}

static void print_row(FILE *out, char **cells, const size_t *width, size_t ncols)
{
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
		print_row(out, cells + r * ncols, width, ncols);
done:
	for (size_t i = 0; cells && i < (nrows + 1) * ncols; i++)
		free(cells[i]);
	free(cells);
	free(width);
}
