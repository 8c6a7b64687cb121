/* `synapse spawner list | accept ID`: the specialists the spawner
 * proposed, and accepting one, through a running server's API (accepting
 * makes the specialist routable at once, which only the server can do).
 * The server is --url, else http://HOST:PORT of the config file; the key
 * is --api-key, else $SYNAPSE_API_KEY, else the file's first. */
#include <curl/curl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/util.h"
#include "core/config/config.h"

static const char usage_text[] =
    "usage: synapse spawner [options] list | accept ID\n"
    "  list        the specialists the spawner proposed (id, status, name, capabilities, why)\n"
    "  accept ID   serve proposal ID as a specialist at once (written to the config file)\n"
    "      --url URL       the server (default http://HOST:PORT of the config file)\n"
    "      --api-key KEY   its Bearer key (default $SYNAPSE_API_KEY, else the config's first)\n"
    "      --config FILE   (default $SYNAPSE_HOME/config.yaml)\n";

typedef struct body {
    char *data;
    size_t len;
} body;

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    body *b = user;
    size_t k = size * n;
    char *d = realloc(b->data, b->len + k + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, k);
    b->data = d;
    b->len += k;
    b->data[b->len] = '\0';
    return k;
}

/* One request; the parsed body in *out. The HTTP status, or -1 (printed). */
static long call(const char *url, const char *key, int post, json_object **out)
{
    *out = NULL;
    CURL *h = curl_easy_init();
    if (!h)
        return syn_cli_error("spawner", "cannot start an HTTP client"), -1;
    body b = {0};
    char auth[512];
    struct curl_slist *hdr = NULL;
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    if (post)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    CURLcode rc = curl_easy_perform(h);
    long status = -1;
    if (rc != CURLE_OK)
        syn_cli_error("spawner", "%s: %s", url, curl_easy_strerror(rc));
    else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (!(*out = b.data ? json_tokener_parse(b.data) : NULL)) {
            syn_cli_error("spawner", "%s: HTTP %ld, not JSON", url, status);
            status = -1;
        }
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    free(b.data);
    return status;
}

static const char *str(json_object *o, const char *key)
{
    const char *s = json_object_get_string(json_object_object_get(o, key));
    return s ? s : "";
}

/* An error response's message, printed; returns 1. */
static int api_error(long status, json_object *o)
{
    const char *msg = str(json_object_object_get(o, "error"), "message");
    return syn_cli_error("spawner", "HTTP %ld: %s", status, *msg ? msg : "(no message)");
}

/* The answer of a route that answers want when it works: *o, or 1 with
 * the reason printed (and *o NULL). */
static int fetch(const char *url, const char *key, int post, long want, json_object **o)
{
    long status = call(url, key, post, o);
    if (status < 0)
        return 1;
    if (status == want)
        return 0;
    api_error(status, *o);
    json_object_put(*o);
    *o = NULL;
    return 1;
}

static int list(const char *base, const char *key)
{
    char url[PATH_MAX];
    snprintf(url, sizeof url, "%s/api/spawner/proposals", base);
    json_object *o;
    if (fetch(url, key, 0, 200, &o))
        return 1;
    json_object *data = json_object_object_get(o, "data");
    size_t n = json_object_array_length(data);
    if (json_object_object_get(o, "spawner") == NULL)
        printf("(no spawner plugin is loaded: nothing new is proposed)\n");
    if (!n)
        printf("no proposals yet\n");
    else
        printf("%-5s %-9s %-24s %-40s %s\n", "ID", "STATUS", "NAME", "CAPABILITIES", "WHY");
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(data, i), *caps = json_object_object_get(p, "capabilities");
        char list_text[41] = "";
        size_t used = 0;
        for (size_t k = 0; k < json_object_array_length(caps) && used < sizeof list_text - 1; k++)
            used += (size_t)snprintf(list_text + used, sizeof list_text - used, "%s%s", k ? "," : "",
                                     json_object_get_string(json_object_array_get_idx(caps, k)));
        printf("%-5s %-9s %-24s %-40s %s\n", str(p, "id"), str(p, "status"), str(p, "name"), list_text,
               str(p, "reason"));
    }
    json_object_put(o);
    return 0;
}

static int accept_proposal(const char *base, const char *key, const char *id)
{
    char url[PATH_MAX];
    long n = syn_cli_parse_int("spawner", "ID", id, 1, LONG_MAX);
    if (n < 0)
        return 2;
    snprintf(url, sizeof url, "%s/api/spawner/proposals/%ld/accept", base, n);
    json_object *o;
    if (fetch(url, key, 1, 201, &o))
        return 1;
    json_object *p = json_object_object_get(o, "proposal");
    printf("accepted proposal %ld: specialist '%s' is served as synapse/%s\n", n, str(p, "name"), str(p, "name"));
    json_object_put(o);
    return 0;
}

int syn_cmd_spawner(int argc, char **argv)
{
    const char *cmd = "spawner", *url = NULL, *key = NULL, *config = NULL;
    enum { OPT_URL = 256, OPT_KEY, OPT_CONFIG };
    static const struct option opts[] = {{"url", required_argument, 0, OPT_URL},
                                         {"api-key", required_argument, 0, OPT_KEY},
                                         {"config", required_argument, 0, OPT_CONFIG},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_URL: url = optarg; break;
        case OPT_KEY: key = optarg; break;
        case OPT_CONFIG: config = optarg; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return syn_cli_bad_option(cmd, c, argv);
        }
    }
    int left = argc - optind;
    const char *what = left > 0 ? argv[optind] : NULL;
    if (!what || !((!strcmp(what, "list") && left == 1) || (!strcmp(what, "accept") && left == 2))) {
        fputs(usage_text, stderr);
        return 2;
    }
    syn_config cfg;
    syn_error err = {0};
    if (syn_config_defaults(&cfg, &err))
        return syn_cli_error(cmd, "%s", err.msg);
    char path[PATH_MAX], base[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.yaml", cfg.data_dir);
    FILE *exists = config ? NULL : fopen(path, "r");
    if (exists)
        fclose(exists);
    int rc = 1;
    if ((config || exists) && syn_config_load(&cfg, config ? config : path, &err)) {
        syn_cli_error(cmd, "invalid configuration: %s", err.msg);
        goto done;
    }
    if (!key)
        key = getenv("SYNAPSE_API_KEY") && *getenv("SYNAPSE_API_KEY") ? getenv("SYNAPSE_API_KEY")
              : cfg.n_api_keys                                        ? cfg.api_keys[0]
                                                                      : NULL;
    if (url)
        snprintf(base, sizeof base, "%s", url);
    else
        snprintf(base, sizeof base, strchr(cfg.host, ':') ? "http://[%s]:%d" : "http://%s:%d",
                 !strcmp(cfg.host, "0.0.0.0") ? "127.0.0.1" : cfg.host, cfg.port);
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        base[--n] = '\0';
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = !strcmp(what, "list") ? list(base, key) : accept_proposal(base, key, argv[optind + 1]);
    curl_global_cleanup();
done:
    syn_config_free(&cfg);
    return rc;
}
