/* `synapse serve` and `synapse up`: configuration (defaults, then the YAML
 * file, then flags), the server, a clean stop on SIGINT/SIGTERM and a
 * configuration reload on SIGHUP.
 * Main thread only; the signals are blocked before any thread starts and
 * taken with sigwait, so no handler runs inside server threads. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <synapse/chat.h>

#include "core/cli/cli.h"
#include "core/cli/util.h"
#include "core/config/config.h"
#include "core/server/server.h"

static const char usage_text[] =
    "usage: synapse %s [options]\n"
    "  -m, --model FILE        GGUF model (a path, or a file in models_dir); none: 503 on inference routes\n"
    "      --port N            (default 6900; 0 = any free port)\n"
    "      --host ADDR         (default 127.0.0.1)\n"
    "      --config FILE       (default $SYNAPSE_HOME/config.yaml, SYNAPSE_HOME defaulting to ~/.synapse)\n"
    "  -c, --ctx-size N        context per sequence\n"
    "      --parallel N        sequences served together\n"
    "  -t, --threads N         CPU threads (0 = all cores)\n"
    "      --chat-template T   chatml or llama3 (default: detected)\n"
    "      --api-key KEY       require this Bearer key (repeatable; also SYNAPSE_API_KEY)\n"
    "      --cors ORIGIN       allowed CORS origin (\"*\" for any)\n"
    "      --max-queue N       waiting requests before 429\n"
    "  -v, --verbose           log requests\n"
    "signals: TERM or INT stop; HUP reloads the config file (api_keys apply at once, other changes are\n"
    "logged as needing a restart)\n";

enum { OPT_PORT = 256, OPT_HOST, OPT_CONFIG, OPT_PARALLEL, OPT_TEMPLATE, OPT_KEY, OPT_CORS, OPT_QUEUE };

/* What the command line set; -1 / NULL: not given, the file decides. */
struct serve_flags {
    const char *model, *host, *config, *tmpl, *cors, *keys[SYN_CONFIG_MAX_KEYS];
    long port, ctx, parallel, threads, queue;
    int n_keys;
};

/* Defaults, then the file, then the flags: at start and again on SIGHUP. */
static int build_config(const char *cmd, const struct serve_flags *f, syn_config *cfg)
{
    syn_error err = {0};
    if (syn_config_defaults(cfg, &err))
        return syn_cli_error(cmd, "%s", err.msg);
    syn_chat_template t;
    if (syn_config_load(cfg, f->config, &err)) {
        syn_cli_error(cmd, "invalid configuration: %s", err.msg);
        goto fail;
    }
    if ((f->host && syn_config_set_str(&cfg->host, f->host, &err)) ||
        (f->tmpl && syn_config_set_str(&cfg->chat_template, f->tmpl, &err)) ||
        (f->cors && syn_config_set_str(&cfg->cors, f->cors, &err)) ||
        (f->model && syn_config_set_str(&cfg->model, f->model, &err))) {
        syn_cli_error(cmd, "%s", err.msg);
        goto fail;
    }
    /* a template asked for by name must exist (detection may still fail
     * for a model without a known one: then chat falls back to ChatML) */
    if (cfg->chat_template && syn_chat_template_detect(NULL, cfg->chat_template, &t, &err)) {
        syn_cli_error(cmd, "chat_template: %s", err.msg);
        goto fail;
    }
    if (cfg->n_api_keys + f->n_keys > SYN_CONFIG_MAX_KEYS) {
        syn_cli_error(cmd, "%d API keys from the configuration and %d from --api-key: at most %d in all",
                      cfg->n_api_keys, f->n_keys, SYN_CONFIG_MAX_KEYS);
        goto fail;
    }
    if (f->port >= 0) cfg->port = (int)f->port;
    if (f->ctx >= 0) cfg->ctx_size = (int)f->ctx;
    if (f->parallel >= 0) cfg->parallel = (int)f->parallel;
    if (f->threads >= 0) cfg->threads = (int)f->threads;
    if (f->queue >= 0) cfg->max_queue = (int)f->queue;
    for (int i = 0; i < f->n_keys; i++) {
        if (!(cfg->api_keys[cfg->n_api_keys] = strdup(f->keys[i]))) {
            syn_cli_error(cmd, "out of memory");
            goto fail;
        }
        cfg->n_api_keys++;
    }
    return 0;
fail:
    syn_config_free(cfg);
    return 1;
}

/* SIGHUP: the configuration is read again and what can change while serving
 * changes; a file that no longer loads leaves everything as it was. */
static void reload(const char *cmd, const struct serve_flags *f, syn_server *srv)
{
    syn_config fresh;
    fprintf(stderr, "synapse: %s: hangup, reloading %s\n", cmd, f->config);
    if (!build_config(cmd, f, &fresh))
        syn_server_reload(srv, &fresh);
    else
        fprintf(stderr, "synapse: %s: the configuration is unchanged\n", cmd);
    syn_config_free(&fresh);
}

static int serve(const char *cmd, int up, int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},     {"port", required_argument, 0, OPT_PORT},
        {"host", required_argument, 0, OPT_HOST}, {"config", required_argument, 0, OPT_CONFIG},
        {"ctx-size", required_argument, 0, 'c'},  {"parallel", required_argument, 0, OPT_PARALLEL},
        {"threads", required_argument, 0, 't'},   {"chat-template", required_argument, 0, OPT_TEMPLATE},
        {"api-key", required_argument, 0, OPT_KEY}, {"cors", required_argument, 0, OPT_CORS},
        {"max-queue", required_argument, 0, OPT_QUEUE}, {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0},
    };
    struct serve_flags f = {.port = -1, .ctx = -1, .parallel = -1, .threads = -1, .queue = -1};
    int verbose = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:c:t:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': f.model = optarg; break;
        case OPT_PORT: if ((f.port = syn_cli_parse_int(cmd, "--port", optarg, 0, 65535)) < 0) return 2; break;
        case OPT_HOST: f.host = optarg; break;
        case OPT_CONFIG: f.config = optarg; break;
        case 'c': if ((f.ctx = syn_cli_parse_int(cmd, "--ctx-size", optarg, 64, 1 << 20)) < 0) return 2; break;
        case OPT_PARALLEL: if ((f.parallel = syn_cli_parse_int(cmd, "--parallel", optarg, 1, 256)) < 0) return 2; break;
        case 't': if ((f.threads = syn_cli_parse_int(cmd, "--threads", optarg, 0, 1024)) < 0) return 2; break;
        case OPT_QUEUE: if ((f.queue = syn_cli_parse_int(cmd, "--max-queue", optarg, 1, 100000)) < 0) return 2; break;
        case OPT_TEMPLATE: f.tmpl = optarg; break;
        case OPT_CORS: f.cors = optarg; break;
        case OPT_KEY:
            if (f.n_keys == SYN_CONFIG_MAX_KEYS || !*optarg) {
                syn_cli_error(cmd, "--api-key needs a non-empty key (at most %d)", SYN_CONFIG_MAX_KEYS);
                return 2;
            }
            f.keys[f.n_keys++] = optarg;
            break;
        case 'v': verbose = 1; break;
        case 'h': printf(usage_text, cmd); return 0;
        default: fprintf(stderr, usage_text, cmd); return 2;
        }
    }
    if (optind < argc) {
        syn_cli_error(cmd, "unexpected argument '%s'", argv[optind]);
        return 2;
    }
    syn_config cfg;
    syn_error err = {0};
    if (syn_config_defaults(&cfg, &err))
        return syn_cli_error(cmd, "%s", err.msg);
    char path[PATH_MAX];
    int rc = 1;
    if (!f.config) {
        int created;
        snprintf(path, sizeof path, "%s/config.yaml", cfg.data_dir);
        if (syn_config_write_default(path, &created, &err)) {
            syn_cli_error(cmd, "%s", err.msg);
            goto done;
        }
        if (created)
            fprintf(stderr, "synapse: %s: wrote the default configuration to %s\n", cmd, path);
        f.config = path;
    }
    syn_config_free(&cfg);
    if (build_config(cmd, &f, &cfg))
        goto done;
    if (verbose)
        syn_log_set_level(SYN_LOG_INFO);
    /* a bare model name is looked up in models_dir */
    char model_path[PATH_MAX];
    const char *mp = cfg.model;
    struct stat st;
    if (mp && stat(mp, &st) && !strchr(mp, '/') && cfg.models_dir) {
        snprintf(model_path, sizeof model_path, "%s/%s", cfg.models_dir, mp);
        mp = model_path;
    }
    /* every signal whose default would end the process is taken here:
     * INT and TERM stop cleanly, HUP reloads, the others are logged */
    static const int taken[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF};
    sigset_t sigs;
    sigemptyset(&sigs);
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++)
        sigaddset(&sigs, taken[i]);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    syn_server *srv;
    if (syn_server_start(&cfg, mp, &srv, &err)) {
        syn_cli_error(cmd, "%s", err.msg);
        goto done;
    }
    /* http://HOST:PORT, an IPv6 host in brackets */
    char url[128];
    snprintf(url, sizeof url, strchr(cfg.host, ':') ? "http://[%s]:%d" : "http://%s:%d", cfg.host,
             syn_server_port(srv));
    fprintf(stderr, "synapse: %s: listening on %s (%s)\n", cmd, url, mp ? mp : "no model: inference routes answer 503");
    if (up)
        /* the web dashboard is a later milestone: point at what exists now */
        fprintf(stderr,
                "synapse: %s: OpenAI API at %s/v1 (status: /api/status, metrics: /metrics; "
                "the web dashboard is not built yet)\n",
                cmd, url);
    int sig = 0;
    for (;;) {
        sigwait(&sigs, &sig);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig == SIGHUP)
            reload(cmd, &f, srv);
        else
            fprintf(stderr, "synapse: %s: ignoring signal %d (%s); SIGTERM stops the server\n", cmd, sig,
                    strsignal(sig));
    }
    fprintf(stderr, "synapse: %s: %s, shutting down\n", cmd, sig == SIGINT ? "interrupted" : "terminated");
    syn_server_stop(srv);
    rc = 0;
done:
    syn_config_free(&cfg);
    return rc;
}

int syn_cmd_serve(int argc, char **argv) { return serve("serve", 0, argc, argv); }
int syn_cmd_up(int argc, char **argv) { return serve("up", 1, argc, argv); }
