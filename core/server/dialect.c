/* The seam between another API and the OpenAI path (see dialect.h): the
 * dialect rides on the connection while the OpenAI route runs. civetweb
 * serves one request per connection here (no keep-alive behind the gate),
 * and the dialect is taken off before the handler returns either way. */
#include <string.h>

#include "core/server/dialect.h"

syn_dialect *syn_dialect_of(const struct mg_connection *c) { return mg_get_user_connection_data(c); }

int syn_dialect_run(syn_dialect *d, struct mg_connection *c, syn_server *s, syn_dialect_route route,
                    json_object *request)
{
    const char *body = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    mg_set_user_connection_data(c, d);
    int status;
    if (!body)
        status = syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
    else if (route == SYN_DIALECT_EMBED)
        status = syn_route_embeddings(c, s, body, strlen(body));
    else
        status = syn_route_generate(c, s, route == SYN_DIALECT_CHAT ? SYN_REQ_CHAT : SYN_REQ_COMPLETION, body,
                                    strlen(body));
    mg_set_user_connection_data(c, NULL);
    return status;
}
