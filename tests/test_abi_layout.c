/* Pins the plugin ABI's layout on x86-64 (LP64) with literal numbers: every
 * field's offset and size and every struct's size in include/synapse/plugin.h
 * (and syn_error, which init() fills across the boundary). A change here
 * means the ABI changed: append-only changes bump SYN_ABI_MINOR and add
 * lines, anything else bumps SYN_ABI_MAJOR. Single-threaded test. */
#include <stddef.h>
#include <synapse/plugin.h>

#include <synapse/loader.h>
#include "tests/check.h"

#define FIELD(type, field, off, size)                                                                          \
    do {                                                                                                       \
        CHECK_MSG(offsetof(type, field) == (off), #type "." #field " at %zu, pinned at %d",                    \
                  offsetof(type, field), (off));                                                               \
        CHECK_MSG(sizeof(((type *)0)->field) == (size), #type "." #field " is %zu bytes, pinned at %d",        \
                  sizeof(((type *)0)->field), (size));                                                         \
    } while (0)

#define SIZE(type, size) CHECK_MSG(sizeof(type) == (size), "sizeof(" #type ") is %zu, pinned at %d", sizeof(type), (size))

int main(void)
{
#if !defined(__x86_64__) || !defined(__LP64__)
    fprintf(stderr, "layout is pinned for x86-64 only\n");
    return 77;
#endif
    CHECK(SYN_ABI_MAJOR == 1);
    CHECK(SYN_ABI_MINOR == 6);
    CHECK(SYN_PLUGIN_MAGIC == 0x504e5953u);
    CHECK(SYN_PLUGIN_BACKEND == 1);
    CHECK(SYN_PLUGIN_CAPABILITY == 2);
    CHECK(SYN_PLUGIN_ROUTER == 3 && SYN_PLUGIN_EXTRACTOR == 4 && SYN_PLUGIN_VERIFIER == 5); /* 1.5 */
    CHECK(SYN_PLUGIN_SPAWNER == 6 && SYN_PLUGIN_SPECIALIST == 7);
    CHECK(SYN_ROUTE_SINGLE == 1 && SYN_ROUTE_SWARM == 2 && SYN_ROUTE_CLOUD == 3 && SYN_ROUTE_MAX_CHOSEN == 3);
    CHECK(SYN_CLAIM_UNKNOWN == 0 && SYN_CLAIM_SUPPORTED == 1 && SYN_CLAIM_CONTRADICTED == 2);

    SIZE(syn_error, 516);
    FIELD(syn_error, code, 0, 4);
    FIELD(syn_error, msg, 4, 512);

    SIZE(syn_plugin, 64);
    FIELD(syn_plugin, magic, 0, 4);
    FIELD(syn_plugin, abi_major, 4, 2);
    FIELD(syn_plugin, abi_minor, 6, 2);
    FIELD(syn_plugin, struct_size, 8, 4);
    FIELD(syn_plugin, kind, 12, 4);
    FIELD(syn_plugin, name, 16, 8);
    FIELD(syn_plugin, version, 24, 8);
    FIELD(syn_plugin, probe, 32, 8);
    FIELD(syn_plugin, init, 40, 8);
    FIELD(syn_plugin, fini, 48, 8);
    FIELD(syn_plugin, ops, 56, 8);

    SIZE(syn_backend_params, 12);
    FIELD(syn_backend_params, struct_size, 0, 4);
    FIELD(syn_backend_params, n_threads, 4, 4);
    FIELD(syn_backend_params, device, 8, 4);

    SIZE(syn_tensor, 64);
    FIELD(syn_tensor, type, 0, 4);
    FIELD(syn_tensor, n_dims, 4, 4);
    FIELD(syn_tensor, ne, 8, 32);
    FIELD(syn_tensor, row_bytes, 40, 8);
    FIELD(syn_tensor, data, 48, 8);
    FIELD(syn_tensor, backend_priv, 56, 8);

    SIZE(syn_rows, 24);
    FIELD(syn_rows, n, 0, 4);
    FIELD(syn_rows, pos, 8, 8);
    FIELD(syn_rows, slot, 16, 8);

    SIZE(syn_attn_params, 56);
    FIELD(syn_attn_params, n_heads, 0, 4);
    FIELD(syn_attn_params, n_kv_heads, 4, 4);
    FIELD(syn_attn_params, head_dim, 8, 4);
    FIELD(syn_attn_params, n_ctx, 12, 4);
    FIELD(syn_attn_params, scale, 16, 4);
    FIELD(syn_attn_params, k_cache, 24, 8);
    FIELD(syn_attn_params, v_cache, 32, 8);
    FIELD(syn_attn_params, page_table, 40, 8);     /* 1.4 */
    FIELD(syn_attn_params, pages_per_slot, 48, 4); /* 1.4 */

    SIZE(syn_backend_ops, 184);
    FIELD(syn_backend_ops, struct_size, 0, 4);
    FIELD(syn_backend_ops, create, 8, 8);
    FIELD(syn_backend_ops, destroy, 16, 8);
    FIELD(syn_backend_ops, describe, 24, 8);
    FIELD(syn_backend_ops, supports_type, 32, 8);
    FIELD(syn_backend_ops, alloc, 40, 8);
    FIELD(syn_backend_ops, release, 48, 8);
    FIELD(syn_backend_ops, write, 56, 8);
    FIELD(syn_backend_ops, read, 64, 8);
    FIELD(syn_backend_ops, sync, 72, 8);
    FIELD(syn_backend_ops, weight_load, 80, 8);
    FIELD(syn_backend_ops, weight_unload, 88, 8);
    FIELD(syn_backend_ops, get_rows, 96, 8);
    FIELD(syn_backend_ops, rms_norm, 104, 8);
    FIELD(syn_backend_ops, matmul, 112, 8);
    FIELD(syn_backend_ops, rope, 120, 8);
    FIELD(syn_backend_ops, kv_store, 128, 8);
    FIELD(syn_backend_ops, attention, 136, 8);
    FIELD(syn_backend_ops, swiglu, 144, 8);
    FIELD(syn_backend_ops, kv_copy, 152, 8);       /* 1.1 */
    FIELD(syn_backend_ops, matmul_prompt, 160, 8); /* 1.2 */
    FIELD(syn_backend_ops, lora, 168, 8);          /* 1.3 */
    FIELD(syn_backend_ops, kv_page_len, 176, 4);   /* 1.4 */

    SIZE(syn_lora_run, 32);
    FIELD(syn_lora_run, a, 0, 8);
    FIELD(syn_lora_run, b, 8, 8);
    FIELD(syn_lora_run, scale, 16, 4);
    FIELD(syn_lora_run, row0, 20, 4);
    FIELD(syn_lora_run, n_rows, 24, 4);

    SIZE(syn_capability_ops, 40);
    FIELD(syn_capability_ops, struct_size, 0, 4);
    FIELD(syn_capability_ops, capability, 8, 8);
    FIELD(syn_capability_ops, create, 16, 8);
    FIELD(syn_capability_ops, destroy, 24, 8);
    FIELD(syn_capability_ops, call, 32, 8);

    /* 1.5: the host API and the typed capability kinds */
    SIZE(syn_pathway, 32);
    FIELD(syn_pathway, strength, 0, 8);
    FIELD(syn_pathway, successes, 8, 8);
    FIELD(syn_pathway, failures, 16, 8);
    FIELD(syn_pathway, updated_at, 24, 8);

    SIZE(syn_host_api, 80);
    FIELD(syn_host_api, struct_size, 0, 4);
    FIELD(syn_host_api, host, 8, 8);
    FIELD(syn_host_api, get_api, 16, 8);
    FIELD(syn_host_api, log, 24, 8);
    FIELD(syn_host_api, embed, 32, 8);
    FIELD(syn_host_api, pathway_get, 40, 8);
    FIELD(syn_host_api, pathway_put, 48, 8);
    FIELD(syn_host_api, generate, 56, 8);
    FIELD(syn_host_api, generation_read, 64, 8);
    FIELD(syn_host_api, generation_free, 72, 8);

    SIZE(syn_route_specialist, 48);
    FIELD(syn_route_specialist, name, 0, 8);
    FIELD(syn_route_specialist, description, 8, 8);
    FIELD(syn_route_specialist, capabilities, 16, 8);
    FIELD(syn_route_specialist, n_capabilities, 24, 4);
    FIELD(syn_route_specialist, examples, 32, 8);
    FIELD(syn_route_specialist, n_examples, 40, 4);

    SIZE(syn_route_score, 16);
    FIELD(syn_route_score, score, 0, 4);
    FIELD(syn_route_score, capability, 4, 4);
    FIELD(syn_route_score, similarity, 8, 4);
    FIELD(syn_route_score, pathway, 12, 4);

    SIZE(syn_route_decision, 360);
    FIELD(syn_route_decision, struct_size, 0, 4);
    FIELD(syn_route_decision, mode, 4, 4);
    FIELD(syn_route_decision, n_chosen, 8, 4);
    FIELD(syn_route_decision, chosen, 12, 12);
    FIELD(syn_route_decision, scores, 24, 8);
    FIELD(syn_route_decision, n_scores, 32, 4);
    FIELD(syn_route_decision, domain, 36, 64);
    FIELD(syn_route_decision, reason, 100, 256);

    SIZE(syn_router_ops, 48);
    FIELD(syn_router_ops, struct_size, 0, 4);
    FIELD(syn_router_ops, create, 8, 8);
    FIELD(syn_router_ops, destroy, 16, 8);
    FIELD(syn_router_ops, set_specialists, 24, 8);
    FIELD(syn_router_ops, route, 32, 8);
    FIELD(syn_router_ops, outcome, 40, 8);

    SIZE(syn_fact, 32);
    FIELD(syn_fact, subject, 0, 8);
    FIELD(syn_fact, predicate, 8, 8);
    FIELD(syn_fact, object, 16, 8);
    FIELD(syn_fact, confidence, 24, 4);
    FIELD(syn_fact, negated, 28, 4);

    SIZE(syn_extractor_ops, 32);
    FIELD(syn_extractor_ops, struct_size, 0, 4);
    FIELD(syn_extractor_ops, create, 8, 8);
    FIELD(syn_extractor_ops, destroy, 16, 8);
    FIELD(syn_extractor_ops, extract, 24, 8);

    SIZE(syn_claim, 32);
    FIELD(syn_claim, start, 0, 4);
    FIELD(syn_claim, end, 4, 4);
    FIELD(syn_claim, label, 8, 4);
    FIELD(syn_claim, score, 12, 4);
    FIELD(syn_claim, fact, 16, 8);
    FIELD(syn_claim, fact_id, 24, 8);

    SIZE(syn_host_facts_v1, 24);
    FIELD(syn_host_facts_v1, struct_size, 0, 4);
    FIELD(syn_host_facts_v1, lookup, 8, 8);
    FIELD(syn_host_facts_v1, normalise, 16, 8);

    SIZE(syn_verifier_ops, 32);
    FIELD(syn_verifier_ops, struct_size, 0, 4);
    FIELD(syn_verifier_ops, create, 8, 8);
    FIELD(syn_verifier_ops, destroy, 16, 8);
    FIELD(syn_verifier_ops, verify, 24, 8);

    SIZE(syn_spawn_proposal, 48);
    FIELD(syn_spawn_proposal, name, 0, 8);
    FIELD(syn_spawn_proposal, description, 8, 8);
    FIELD(syn_spawn_proposal, system_prompt, 16, 8);
    FIELD(syn_spawn_proposal, capabilities, 24, 8);
    FIELD(syn_spawn_proposal, n_capabilities, 32, 4);
    FIELD(syn_spawn_proposal, reason, 40, 8);

    SIZE(syn_spawner_ops, 32);
    FIELD(syn_spawner_ops, struct_size, 0, 4);
    FIELD(syn_spawner_ops, create, 8, 8);
    FIELD(syn_spawner_ops, destroy, 16, 8);
    FIELD(syn_spawner_ops, propose, 24, 8);

    SIZE(syn_specialist_ops, 48);
    FIELD(syn_specialist_ops, struct_size, 0, 4);
    FIELD(syn_specialist_ops, create, 8, 8);
    FIELD(syn_specialist_ops, destroy, 16, 8);
    FIELD(syn_specialist_ops, describe, 24, 8);
    FIELD(syn_specialist_ops, answer, 32, 8);
    FIELD(syn_specialist_ops, claim, 40, 8); /* 1.6 */

    /* The smallest tables the loader accepts stay the 1.0 sizes forever
     * (a kind's first version, for the kinds of 1.5). */
    CHECK(SYN_PLUGIN_V1_0_SIZE == 64);
    CHECK(SYN_BACKEND_OPS_V1_0_SIZE == 152);
    CHECK(SYN_CAPABILITY_OPS_V1_0_SIZE == 40);
    CHECK(SYN_ROUTER_OPS_V1_5_SIZE == 48 && SYN_EXTRACTOR_OPS_V1_5_SIZE == 32 && SYN_VERIFIER_OPS_V1_5_SIZE == 32);
    CHECK(SYN_SPAWNER_OPS_V1_5_SIZE == 32 && SYN_SPECIALIST_OPS_V1_5_SIZE == 40);
    return CHECK_DONE();
}
