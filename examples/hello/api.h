// The routes of examples/hello's JSON API, on an http::Router (the middleware stack wraps it in
// hello.cc):
//
//   GET    /healthz             200 {"status":"ok"}
//   GET    /v1/items            200 {"items":[{"key":"a","value":1},...]}
//   GET    /v1/items/{key}      200 {"key":"a","value":1}       404 {"error":"..."}
//   PUT    /v1/items/{key}      body {"value": <any JSON>}      201 created / 200 replaced
//   DELETE /v1/items/{key}      204                              404 {"error":"..."}
//
// Every error is JSON {"error": "<what is wrong>"}: 400 for a malformed body, a body without
// "value", or a key outside [A-Za-z0-9._-]{1,64}; 415 for a PUT whose content-type is not JSON.
// Writes (PUT, DELETE) need `authorization: Bearer <token>` (401 otherwise).
#pragma once

#include <memory>
#include <string>

#include "examples/hello/item_store.h"
#include "weft/http/router.h"

namespace hello {

// Adds the API's routes to `router`, sharing `store`; writes require `token`.
void add_routes(weft::http::Router& router, std::shared_ptr<ItemStore> store, std::string token);

}  // namespace hello
