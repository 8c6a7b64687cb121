/* Synapse's public API, all of it: include this one header.
 *
 *   common.h      status codes, errors, element types, logging
 *   plugin.h      the plugin ABI (what a backend or capability plugin exports)
 *   loader.h      finding and loading plugins
 *   gguf.h        reading and writing GGUF files
 *   safetensors.h reading and writing safetensors files (PEFT adapters)
 *   model.h       backends, models, LoRA adapters, contexts, the forward pass
 *   tokenizer.h   tokenize and detokenize
 *   sampler.h     token sampling
 *   constraint.h  the interface constrained decoding plugs into
 *   generate.h    one sequence: sampler + constraint + detokenizer + stops
 *   chat.h        chat templates
 *   session.h     backend + model + tokenizer + chat template in one call
 *   sched.h       the continuous-batching scheduler and its jobs
 *
 * libsynapse exports exactly the functions these headers mark SYN_API. */
#ifndef SYNAPSE_SYNAPSE_H
#define SYNAPSE_SYNAPSE_H

#include <synapse/chat.h>
#include <synapse/common.h>
#include <synapse/constraint.h>
#include <synapse/generate.h>
#include <synapse/gguf.h>
#include <synapse/loader.h>
#include <synapse/model.h>
#include <synapse/plugin.h>
#include <synapse/safetensors.h>
#include <synapse/sampler.h>
#include <synapse/sched.h>
#include <synapse/session.h>
#include <synapse/tokenizer.h>

#endif
