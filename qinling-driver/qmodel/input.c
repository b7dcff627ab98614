/* qmodel/input.c: see input.h. */
#include "qmodel/input.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/jsonw.h"
#include "common/xalloc.h"

#define WORDS_MAX 64

enum qm_input_kind qm_input_classify(const char *text)
{
    cJSON *tree = NULL;
    enum qm_input_kind k;

    if (text == NULL || text[0] == '\0')
        return QM_INPUT_NONE;
    if (json_parse(text, strlen(text), &tree, NULL) < 0)
        return QM_INPUT_RAW;
    k = cJSON_IsObject(tree) ? QM_INPUT_JSON : QM_INPUT_RAW;
    cJSON_Delete(tree);
    return k;
}

const char *qm_input_kind_name(enum qm_input_kind k)
{
    return k == QM_INPUT_JSON ? "json" : k == QM_INPUT_RAW ? "raw" : "none";
}

int qm_input_kind_parse(const char *s)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "none") == 0)
        return QM_INPUT_NONE;
    if (strcmp(s, "json") == 0)
        return QM_INPUT_JSON;
    if (strcmp(s, "raw") == 0)
        return QM_INPUT_RAW;
    return -1;
}

char *qm_input_stdin(const char *text, enum qm_input_kind k)
{
    struct buf b;
    struct jw w;

    if (k == QM_INPUT_NONE || text == NULL)
        return NULL;
    if (k == QM_INPUT_JSON)
        return xstrdup(text);
    buf_init(&b, (size_t)-1);
    jw_init(&w, &b, 0);
    jw_str(&w, text);
    return buf_take(&b, NULL);
}

cJSON *qm_input_words(const char *text)
{
    cJSON *arr = cJSON_CreateArray();
    const char *p = text != NULL ? text : "";
    int n = 0;

    while (*p != '\0' && n < WORDS_MAX) {
        size_t len;
        char *w;

        p += strspn(p, " \t\r\n\v\f");
        len = strcspn(p, " \t\r\n\v\f");
        if (len == 0)
            break;
        w = xstrndup(p, len);
        cJSON_AddItemToArray(arr, cJSON_CreateString(w));
        free(w);
        n++;
        p += len;
    }
    return arr;
}
