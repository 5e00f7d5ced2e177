#include "CliArguments.h"
#include "Commands.h"

#include "export/ApplyPolicy.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <cstdio>

namespace rlq::cli {

const char* const kApplyUsage =
    "usage: rlq apply --policy FILE [--model PATH|NAME] (--packed DIR | --hf DIR)... [options]\n"
    "\n"
    "Applies a saved policy (best_policy.json of a run) to its model and writes\n"
    "the quantized checkpoint. By default the run's fine-tuning is replayed\n"
    "first (same split, steps and seed), so the checkpoint holds the weights\n"
    "the run measured and rlq eval reproduces its test numbers.\n"
    "\n"
    "  --policy FILE         best_policy.json of a run folder\n"
    "  --model PATH|NAME     model to quantize (default: the policy's model)\n"
    "  --packed DIR          write the packed checkpoint: model.rlq.safetensors\n"
    "                        (bit-packed codes, fp16 scales) and rlq_manifest.json\n"
    "  --hf DIR              write a dequantized Hugging Face folder\n"
    "                        (model.safetensors with the rounded weights)\n"
    "  --f16                 store the dequantized weights as F16 (default F32,\n"
    "                        which keeps every quantization level exact)\n"
    "  --no-finetune         quantize the original weights without fine-tuning\n"
    "  --allow-other-model   apply to weights whose fingerprint differs from the\n"
    "                        policy's (same architecture required)\n"
    "  --threads N           LibTorch threads (default: all cores)\n"
    "\n"
    "example: rlq apply --policy runs/demo/best_policy.json \\\n"
    "           --packed exports/demo-packed --hf exports/demo-hf\n";

int runApply(const std::vector<std::string>& args)
{
    const Arguments arguments(args, {"--policy", "--model", "--packed", "--hf", "--threads"},
                              {"--f16", "--no-finetune", "--allow-other-model"});
    if (!arguments.has("--policy")) {
        throw Error("--policy FILE is required; pass the best_policy.json of a run folder");
    }
    configureTorchThreads(int(arguments.integer("--threads", 0)));

    ApplyRequest request;
    request.policyFile = arguments.value("--policy");
    request.model = arguments.value("--model");
    request.packedFolder = arguments.value("--packed");
    request.hfFolder = arguments.value("--hf");
    request.hfFloat16 = arguments.has("--f16");
    request.finetune = !arguments.has("--no-finetune");
    request.allowOtherModel = arguments.has("--allow-other-model");

    const ApplyResult result = applyPolicy(request, [](const std::string& line) { std::printf("%s\n", line.c_str()); });

    const std::string tuning =
        result.finetuned ? "fine-tuned for " + std::to_string(result.finetuneSteps) + " steps" : "not fine-tuned";
    std::printf("policy: %zu units, %.2f average bits, footprint %.3f MB, %s\n", result.unitBits.size(), result.avgBits,
                double(result.footprintBytes) / 1e6, tuning.c_str());
    if (result.reported) {
        std::printf("the run reported test perplexity %.4f", result.reported->testPpl);
        if (result.reported->testAcc >= 0) {
            std::printf(", acc %.4f, acc_norm %.4f", result.reported->testAcc, result.reported->testAccNorm);
        }
        std::printf(" for it; check with\n  rlq eval --model DIR --dataset %s --window %lld\n", result.dataset.c_str(),
                    static_cast<long long>(result.evalWindow));
    }
    return 0;
}

} // namespace rlq::cli
