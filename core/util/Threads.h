#pragma once

namespace rlq {

// Sets LibTorch's intra-op thread count to the number of cores (LibTorch
// from Debian starts with one). Returns the count used. Call once at start.
int configureTorchThreads(int requested = 0);

} // namespace rlq
