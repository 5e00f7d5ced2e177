#pragma once

// Bit packing of integer codes for the checkpoint export. Codes are packed
// in row-major order, 8 / bits codes per byte, with the first code in the
// lowest bits of its byte. The unused high bits of the last byte are 0.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace rlq {

// Number of bytes that packCodes produces for `numel` codes:
// ceil(numel * bits / 8).
int64_t packedByteCount(int64_t numel, int bits);

// Packs uint8 codes of any shape into a uint8 tensor of
// packedByteCount(codes.numel(), bits) bytes. Throws rlq::Error unless bits
// is 2, 4 or 8, the codes are uint8, and every code is below 2^bits.
torch::Tensor packCodes(const torch::Tensor& codes, int bits);

// Unpacks codes into a contiguous uint8 tensor of `shape`. Throws
// rlq::Error unless bits is 2, 4 or 8, the shape has no negative size, and
// `packed` is uint8 with exactly packedByteCount(numel of shape, bits)
// elements.
torch::Tensor unpackCodes(const torch::Tensor& packed, int bits, const std::vector<int64_t>& shape);

} // namespace rlq
