/* /api/specialists: list (GET), create or replace (POST, the same fields as
 * a config.yaml entry), and /api/specialists/{name}: read (GET) and remove
 * (DELETE). A change is in the config file before it is acknowledged;
 * requests already running keep the specialist they started with. */
#include <stdlib.h>
#include <string.h>

#include "core/server/internal.h"

/* 500 for the server's own trouble (memory, writing the config), 404 for
 * a name that is not there when by_name, else 400 (the request's fault,
 * such as an adapter that cannot be found or does not fit). */
static int send_specialist_error(struct mg_connection *c, const syn_server *s, const syn_error *err, int by_name)
{
    int status = err->code == SYN_ERR_NOMEM || err->code == SYN_ERR_IO ? 500
                 : by_name && err->code == SYN_ERR_NOT_FOUND           ? 404
                                                                       : 400;
    return syn_send_error_msg(c, s, status, status == 500 ? "server_error" : "invalid_request_error",
                              status == 404 ? "specialist_not_found" : NULL, "%s", err->msg);
}

static int list(struct mg_connection *c, syn_server *s)
{
    syn_specialist **l;
    int n;
    syn_error err = {0};
    if (syn_swarm_list(s->swarm, &l, &n, &err))
        return send_specialist_error(c, s, &err, 0);
    json_object *o = json_object_new_object(), *data = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(data, syn_specialist_json(l[i]));
    syn_swarm_list_free(l, n);
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    return syn_send_json_obj(c, s, 200, o);
}

/* The router sees every change before the answer goes out. A router that
 * cannot take the new list keeps routing by the old one: said in the log,
 * the change itself stands (it is in the config file already). */
void syn_server_tell_router(syn_server *s)
{
    syn_error err = {0};
    if (s->router && syn_router_update(s->router, s->swarm, &err))
        syn_log(SYN_LOG_ERROR, "the router did not take the new specialists: %s", err.msg);
}

static int put(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    syn_http_error e = {0};
    json_object *root = NULL;
    if (syn_request_parse_json(body, len, &root, &e))
        return syn_send_error(c, s, &e);
    syn_specialist_def d;
    syn_error err = {0};
    int replaced = 0, status;
    if (syn_specialist_def_from_json(root, &d, &err) || syn_swarm_put(s->swarm, &d, 1, &replaced, &err)) {
        status = send_specialist_error(c, s, &err, 0);
    } else {
        syn_server_tell_router(s);
        syn_specialist *sp = syn_swarm_get(s->swarm, d.name);
        status = sp ? syn_send_json_obj(c, s, replaced ? 200 : 201, syn_specialist_json(sp))
                    : syn_send_error_msg(c, s, 409, "invalid_request_error", NULL,
                                         "specialist '%s' was removed meanwhile", d.name);
        syn_specialist_release(sp);
    }
    syn_specialist_def_free(&d);
    json_object_put(root);
    return status;
}

int syn_route_specialists(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *name = ri->local_uri + strlen("/api/specialists");
    if (!*name)
        return !strcmp(ri->request_method, "POST") ? put(c, s, body, len) : list(c, s);
    name++; /* the '/' */
    syn_error err = {0};
    if (syn_specialist_check_name(name, &err))
        return syn_send_error_msg(c, s, 404, "invalid_request_error", "specialist_not_found", "%s", err.msg);
    if (!strcmp(ri->request_method, "DELETE")) {
        if (syn_swarm_remove(s->swarm, name, &err))
            return send_specialist_error(c, s, &err, 1);
        syn_server_tell_router(s);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "deleted", json_object_new_boolean(1));
        return syn_send_json_obj(c, s, 200, o);
    }
    syn_specialist *sp = syn_swarm_get(s->swarm, name);
    if (!sp)
        return syn_send_error_msg(c, s, 404, "invalid_request_error", "specialist_not_found",
                                  "there is no specialist '%s'", name);
    int status = syn_send_json_obj(c, s, 200, syn_specialist_json(sp));
    syn_specialist_release(sp);
    return status;
}
