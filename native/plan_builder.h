// Converts the plan object built by lib/launch/plan.ts into the C Plan.
#pragma once
#include <napi.h>

#include <memory>

#include "plan_store.h"

namespace berth {

// Returns null (with a pending JS exception) when the object is malformed.
std::unique_ptr<PlanStore> PlanFromJs(Napi::Env env, Napi::Object obj);

}  // namespace berth
