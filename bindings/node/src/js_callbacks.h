// The AsyncClient's Callbacks, carried out by the app's JavaScript functions
// (NativeCallbacks): events, tokens (a value or a promise), the conflict
// resolver, host-transport requests and log lines.
//
// Threading: every function made here runs on the JS thread (the
// AsyncClient delivers through the core's queue).
#pragma once

#include "ferry/async_client.h"

namespace ferry::node {

class ClientCore;

// Holds `core` by reference: the AsyncClient that calls these lives inside
// it and delivers nothing once it is gone.
async::Callbacks MakeCallbacks(ClientCore& core);

}  // namespace ferry::node
