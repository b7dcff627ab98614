/* qmodel/input.h: execution input (deviceless-api.md 2.6.2).
 *
 * The text a client sent is stored and echoed exactly. Its kind decides
 * what the function receives on stdin: none (absent, null or "") gives {},
 * json (text that parses as a JSON object) gives that object, raw (any other
 * text) gives the text as one JSON string. For image functions raw input is
 * split on whitespace into entrypoint arguments. Pure, any thread. */
#ifndef QM_INPUT_H
#define QM_INPUT_H

#include <cjson/cJSON.h>

enum qm_input_kind { QM_INPUT_NONE, QM_INPUT_JSON, QM_INPUT_RAW };

enum qm_input_kind qm_input_classify(const char *text);

/* "none", "json", "raw"; and the reverse (-1 for an unknown name). */
const char *qm_input_kind_name(enum qm_input_kind k);
int qm_input_kind_parse(const char *s);

/* The stdin JSON text for the board: a new string (free()), or NULL for
 * none (the board then sends {}). */
char *qm_input_stdin(const char *text, enum qm_input_kind k);

/* The whitespace-separated words of raw text as a new JSON array (at most
 * 64 words: the rest is dropped). */
cJSON *qm_input_words(const char *text);

#endif
