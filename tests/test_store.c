/* The store on a real SQLite file: the schema at SYN_STORE_VERSION (WAL,
 * foreign keys), opened again without a second migration; 16 threads
 * recording answers and feedback at once, none failing; feedback on an
 * unknown response or choice refused; a correction as a preference pair
 * (chosen = correction, rejected = the answer, prompt = the last user
 * message); a file from a newer version refused. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/knowledge/store.h"
#include "tests/check.h"

#define WRITERS 16
#define PER_WRITER 25

static syn_store *st;
static int failures[WRITERS];

static int record(const char *id, const char *specialist, const char *user, const char *answer)
{
    syn_chat_msg msgs[2] = {{"system", "be brief"}, {"user", user}};
    const char *answers[1] = {answer};
    size_t lens[1] = {strlen(answer)};
    syn_store_exchange x = {.response_id = id, .model = specialist ? "synapse/x" : "synapse", .specialist = specialist,
                            .msgs = msgs, .n_msgs = 2, .answers = answers, .answer_len = lens, .n_answers = 1};
    syn_error err = {0};
    int rc = syn_store_record(st, &x, &err);
    if (rc)
        fprintf(stderr, "record %s: %s\n", id, err.msg);
    return rc;
}

static void *writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    for (int i = 0; i < PER_WRITER; i++) {
        char id[64];
        snprintf(id, sizeof id, "chatcmpl-w%d-%d", w, i);
        syn_error err = {0};
        int64_t fid, pid;
        if (record(id, i % 2 ? "coder" : NULL, "question", "answer") ||
            syn_store_feedback(st, id, 0, i % 3 ? 1 : -1, i % 5 ? NULL : "better", &fid, &pid, NULL, &err)) {
            if (err.msg[0])
                fprintf(stderr, "feedback %s: %s\n", id, err.msg);
            failures[w]++;
        }
    }
    return NULL;
}

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/synapse-store-XXXXXX";
    if (!mkdtemp(dir))
        return 99;
    char path[256];
    snprintf(path, sizeof path, "%s/synapse.db", dir);
    syn_error err = {0};
    CHECK_MSG(syn_store_open(path, &st, &err) == 0, "%s", err.msg);
    if (!st)
        return 1;

    /* a correction: the pair holds the last user message before the answer */
    syn_chat_msg msgs[4] = {{"user", "first"}, {"assistant", "earlier answer"}, {"user", "what is 2+2?"}, {"user", "x"}};
    const char *answers[2] = {"five", "four!"};
    size_t lens[2] = {4, 4};
    syn_store_exchange x = {.response_id = "chatcmpl-a", .model = "synapse/math", .specialist = "math", .msgs = msgs,
                            .n_msgs = 3, .answers = answers, .answer_len = lens, .n_answers = 2};
    CHECK_MSG(syn_store_record(st, &x, &err) == 0, "%s", err.msg);
    int64_t fid, pid;
    CHECK_MSG(syn_store_feedback(st, "chatcmpl-a", 0, -1, "four", &fid, &pid, NULL, &err) == 0 && fid > 0 && pid > 0, "%s",
              err.msg);
    CHECK(syn_store_feedback(st, "chatcmpl-a", 1, 1, NULL, &fid, &pid, NULL, &err) == 0 && fid > 0 && pid == 0);
    CHECK(syn_store_feedback(st, "chatcmpl-nope", 0, 1, NULL, &fid, &pid, NULL, &err) == SYN_ERR_NOT_FOUND &&
          strstr(err.msg, "chatcmpl-nope"));
    CHECK(syn_store_feedback(st, "chatcmpl-a", 2, 1, NULL, &fid, &pid, NULL, &err) == SYN_ERR_NOT_FOUND);
    json_object *pairs = NULL;
    CHECK_MSG(syn_store_preferences(st, 10, &pairs, &err) == 0, "%s", err.msg);
    if (pairs) {
        CHECK(json_object_array_length(pairs) == 1);
        const char *got = json_object_to_json_string_ext(json_object_array_get_idx(pairs, 0), JSON_C_TO_STRING_PLAIN);
        CHECK_MSG(!strcmp(got, "{\"id\":1,\"specialist\":\"math\",\"prompt\":\"what is 2+2?\",\"chosen\":\"four\","
                               "\"rejected\":\"five\",\"source\":\"feedback\"}"),
                  "%s", got);
        json_object_put(pairs);
    }

    /* 16 writers at once: every record and every feedback lands */
    pthread_t t[WRITERS];
    for (int w = 0; w < WRITERS; w++)
        pthread_create(&t[w], NULL, writer, (void *)(intptr_t)w);
    for (int w = 0; w < WRITERS; w++) {
        pthread_join(t[w], NULL);
        CHECK_MSG(failures[w] == 0, "writer %d: %d failures", w, failures[w]);
    }
    syn_store_close(st);

    /* opened again: the same schema, no second migration, every row */
    CHECK_MSG(syn_store_open(path, &st, &err) == 0, "%s", err.msg);
    syn_store_close(st);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(count(db, "PRAGMA user_version") == SYN_STORE_VERSION);
    CHECK(count(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
    CHECK(count(db, "SELECT count(*) FROM conversations") == 1 + WRITERS * PER_WRITER);
    CHECK(count(db, "SELECT count(*) FROM messages WHERE response_id IS NOT NULL") == 2 + WRITERS * PER_WRITER);
    CHECK(count(db, "SELECT count(*) FROM feedback") == 2 + WRITERS * PER_WRITER);
    CHECK(count(db, "SELECT count(*) FROM preferences") == 1 + WRITERS * (PER_WRITER / 5));
    CHECK(count(db, "SELECT count(*) FROM messages WHERE specialists = '[\"coder\"]'") == WRITERS * (PER_WRITER / 2));
    /* a file a newer synapse wrote is refused, not downgraded */
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(syn_store_open(path, &st, &err) == SYN_ERR_UNSUPPORTED && !st && strstr(err.msg, "schema version 99"));

    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_failures ? 1 : 0;
}
