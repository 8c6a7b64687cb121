/* `synapse serve` and `synapse up`: configuration (defaults, then the YAML
 * file, then flags), the server, and a clean stop on SIGINT/SIGTERM.
 * Main thread only; the signals are blocked before any thread starts and
 * taken with sigwait, so no handler runs inside server threads. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cli.h"
#include "core/cli_model.h"
#include "core/server_config.h"
#include "core/server.h"

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
    "  -v, --verbose           log requests\n";

enum { OPT_PORT = 256, OPT_HOST, OPT_CONFIG, OPT_PARALLEL, OPT_TEMPLATE, OPT_KEY, OPT_CORS, OPT_QUEUE };

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
    const char *model = NULL, *host = NULL, *config = NULL, *tmpl = NULL, *cors = NULL, *keys[SYN_CONFIG_MAX_KEYS];
    long port = -1, ctx = -1, parallel = -1, threads = -1, queue = -1;
    int n_keys = 0, verbose = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:c:t:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case OPT_PORT: if ((port = syn_cli_parse_int(cmd, "--port", optarg, 0, 65535)) < 0) return 2; break;
        case OPT_HOST: host = optarg; break;
        case OPT_CONFIG: config = optarg; break;
        case 'c': if ((ctx = syn_cli_parse_int(cmd, "--ctx-size", optarg, 64, 1 << 20)) < 0) return 2; break;
        case OPT_PARALLEL: if ((parallel = syn_cli_parse_int(cmd, "--parallel", optarg, 1, 256)) < 0) return 2; break;
        case 't': if ((threads = syn_cli_parse_int(cmd, "--threads", optarg, 0, 1024)) < 0) return 2; break;
        case OPT_QUEUE: if ((queue = syn_cli_parse_int(cmd, "--max-queue", optarg, 1, 100000)) < 0) return 2; break;
        case OPT_TEMPLATE: tmpl = optarg; break;
        case OPT_CORS: cors = optarg; break;
        case OPT_KEY:
            if (n_keys == SYN_CONFIG_MAX_KEYS || !*optarg) {
                syn_cli_error(cmd, "--api-key needs a non-empty key (at most %d)", SYN_CONFIG_MAX_KEYS);
                return 2;
            }
            keys[n_keys++] = optarg;
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
    if (!config) {
        int created;
        snprintf(path, sizeof path, "%s/config.yaml", cfg.data_dir);
        if (syn_config_write_default(path, &created, &err)) {
            syn_cli_error(cmd, "%s", err.msg);
            goto done;
        }
        if (created)
            fprintf(stderr, "synapse: %s: wrote the default configuration to %s\n", cmd, path);
        config = path;
    }
    if (syn_config_load(&cfg, config, &err)) {
        syn_cli_error(cmd, "invalid configuration: %s", err.msg);
        goto done;
    }
    if ((host && syn_config_set_str(&cfg.host, host, &err)) || (tmpl && syn_config_set_str(&cfg.chat_template, tmpl, &err)) ||
        (cors && syn_config_set_str(&cfg.cors, cors, &err)) || (model && syn_config_set_str(&cfg.model, model, &err))) {
        syn_cli_error(cmd, "%s", err.msg);
        goto done;
    }
    if (port >= 0) cfg.port = (int)port;
    if (ctx >= 0) cfg.ctx_size = (int)ctx;
    if (parallel >= 0) cfg.parallel = (int)parallel;
    if (threads >= 0) cfg.threads = (int)threads;
    if (queue >= 0) cfg.max_queue = (int)queue;
    for (int i = 0; i < n_keys; i++) {
        if (cfg.n_api_keys == SYN_CONFIG_MAX_KEYS)
            break;
        if (!(cfg.api_keys[cfg.n_api_keys] = strdup(keys[i])))
            goto done;
        cfg.n_api_keys++;
    }
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
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    syn_server *srv;
    if (syn_server_start(&cfg, mp, &srv, &err)) {
        syn_cli_error(cmd, "%s", err.msg);
        goto done;
    }
    fprintf(stderr, "synapse: %s: listening on http://%s:%d (%s)\n", cmd, cfg.host, syn_server_port(srv),
            mp ? mp : "no model: inference routes answer 503");
    if (up)
        /* the web dashboard is a later milestone: point at what exists now */
        fprintf(stderr,
                "synapse: %s: OpenAI API at http://%s:%d/v1 (status: /api/status, metrics: /metrics; "
                "the web dashboard is not built yet)\n",
                cmd, cfg.host, syn_server_port(srv));
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "synapse: %s: %s, shutting down\n", cmd, sig == SIGINT ? "interrupted" : "terminated");
    syn_server_stop(srv);
    rc = 0;
done:
    syn_config_free(&cfg);
    return rc;
}

int syn_cmd_serve(int argc, char **argv) { return serve("serve", 0, argc, argv); }
int syn_cmd_up(int argc, char **argv) { return serve("up", 1, argc, argv); }
