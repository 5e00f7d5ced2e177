#include "quant/Packing.h"

#include "quant/QuantTypes.h"

#include "util/Error.h"

#include <string>

namespace rlq {

namespace {

// Only widths that divide 8 pack without codes straddling a byte boundary.
void validatePackBits(int bits)
{
    if (bits != 2 && bits != 4 && bits != 8) {
        throw Error("cannot pack codes of bit-width " + std::to_string(bits) + "; allowed values: 2, 4, 8");
    }
}

int64_t shapeNumel(const std::vector<int64_t>& shape)
{
    int64_t numel = 1;
    for (int64_t size : shape) {
        if (size < 0) {
            throw Error("invalid code shape " + shapeText(shape) + "; sizes must not be negative");
        }
        numel *= size;
    }
    return numel;
}

void validateCodeRange(const torch::Tensor& flatCodes, int bits)
{
    if (flatCodes.numel() == 0) {
        return;
    }

    const int64_t largestCode = flatCodes.max().item<int64_t>();
    const int64_t maxCode = (int64_t{1} << bits) - 1;
    if (largestCode > maxCode) {
        throw Error("cannot pack code " + std::to_string(largestCode) + " at " + std::to_string(bits) +
                    " bits; codes must lie in [0, " + std::to_string(maxCode) + "]");
    }
}

} // namespace

int64_t packedByteCount(int64_t numel, int bits)
{
    return (numel * bits + 7) / 8;
}

torch::Tensor packCodes(const torch::Tensor& codes, int bits)
{
    validatePackBits(bits);
    if (!codes.defined() || codes.scalar_type() != torch::kByte) {
        throw Error("cannot pack codes that are not a uint8 tensor");
    }

    const torch::Tensor flat = codes.reshape({-1});
    validateCodeRange(flat, bits);
    if (bits == 8) {
        return flat.clone();
    }

    // Pad with zero codes to whole bytes, then view one byte per row.
    const int64_t codesPerByte = 8 / bits;
    const int64_t byteCount = packedByteCount(flat.numel(), bits);
    const int64_t padding = byteCount * codesPerByte - flat.numel();
    const torch::Tensor slots =
        torch::cat({flat, torch::zeros({padding}, flat.options())}).view({byteCount, codesPerByte});

    torch::Tensor packed = slots.select(1, 0).clone();
    for (int64_t slot = 1; slot < codesPerByte; ++slot) {
        packed.bitwise_or_(torch::bitwise_left_shift(slots.select(1, slot), slot * bits));
    }
    return packed;
}

torch::Tensor unpackCodes(const torch::Tensor& packed, int bits, const std::vector<int64_t>& shape)
{
    validatePackBits(bits);
    const int64_t numel = shapeNumel(shape);
    const int64_t expectedBytes = packedByteCount(numel, bits);
    if (!packed.defined() || packed.scalar_type() != torch::kByte) {
        throw Error("cannot unpack codes from a tensor that is not uint8");
    }
    if (packed.numel() != expectedBytes) {
        throw Error("packed codes have " + std::to_string(packed.numel()) + " bytes, but shape " +
                    shapeText(shape) + " at " + std::to_string(bits) + " bits needs " +
                    std::to_string(expectedBytes));
    }

    const torch::Tensor bytes = packed.reshape({-1});
    if (bits == 8) {
        return bytes.clone().view(shape);
    }

    const int64_t codesPerByte = 8 / bits;
    const int64_t mask = (int64_t{1} << bits) - 1;
    std::vector<torch::Tensor> slots;
    for (int64_t slot = 0; slot < codesPerByte; ++slot) {
        slots.push_back(torch::bitwise_right_shift(bytes, slot * bits).bitwise_and_(mask));
    }

    // Row b of the stacked slots contains the codes of byte b in order. The
    // padding codes after `numel` are dropped.
    return torch::stack(slots, 1).view({-1}).narrow(0, 0, numel).clone().view(shape);
}

} // namespace rlq
