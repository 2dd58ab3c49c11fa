/* table.h: aligned text tables for brokerctl's human output. */
#ifndef BRK_TABLE_H
#define BRK_TABLE_H

#include <jansson.h>
#include <stdio.h>

/* table_print: prints a header row and rows (an array of arrays of JSON values, borrowed)
 * with columns padded to their widest cell; strings print bare, other values as JSON. */
void table_print(FILE *out, const char *const *headers, size_t ncols, const json_t *rows);

/* cell_text: a JSON value as table text (malloc'ed): strings bare, others as JSON. */
char *cell_text(const json_t *value);

#endif
