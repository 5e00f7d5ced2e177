#include "util/Threads.h"

#include <torch/torch.h>

#include <thread>

namespace rlq {

int configureTorchThreads(int requested)
{
    int threads = requested > 0 ? requested : int(std::thread::hardware_concurrency());
    if (threads < 1) {
        threads = 1;
    }
    torch::set_num_threads(threads);
    return threads;
}

} // namespace rlq
