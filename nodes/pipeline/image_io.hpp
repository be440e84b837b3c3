/// @file pipeline/image_io.hpp
/// Reading and writing picture files. Decoding goes through stb_image (PNG, JPEG, BMP, GIF, TGA,
/// PSD, HDR, PNM); PNG writing through libpng, which can store text chunks (the workflow).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace diffgraph::nodes {

/// Extensions (lower case, with the dot) of the files decode_image reads.
const std::vector<std::string>& image_file_extensions();

/// The pixels of a picture file.
struct DecodedImage {
  torch::Tensor rgb;    ///< float32 [frames, H, W, 3] in [0, 1]
  torch::Tensor alpha;  ///< float32 [frames, H, W] in [0, 1]; undefined when the file has no alpha
};

/// Decodes a whole file: every frame of an animated GIF, one frame otherwise. 16-bit PNGs keep
/// their precision; a JPEG's EXIF orientation is applied (as ComfyUI's exif_transpose does).
/// Throws NodeError naming `name` when the bytes are not a picture stb_image can decode.
DecodedImage decode_image(std::span<const std::uint8_t> bytes, const std::string& name);

/// Reads and decodes a file; NodeError names the file when it cannot be read or decoded.
DecodedImage read_image_file(const std::filesystem::path& path);

/// Quantises an IMAGE [..., 3] in [0, 1] to 8 bits by rounding (clamped first). ComfyUI
/// truncates instead; rounding halves the error and makes save → load reproduce 8-bit values.
torch::Tensor image_to_rgb8(const torch::Tensor& image);

/// Writes `rgb8` (uint8 [H, W, 3]) as an 8-bit RGB PNG with one tEXt chunk per entry of `text`
/// (keywords of 1-79 Latin-1 characters; texts must be Latin-1, which ASCII JSON is).
/// `compression_level` is zlib's 0-9. Throws NodeError naming the file on failure.
void write_png(const std::filesystem::path& path, const torch::Tensor& rgb8,
               const std::vector<std::pair<std::string, std::string>>& text, int compression_level);

/// A JSON text (the workflow) made safe for a PNG tEXt chunk, which must be Latin-1: non-ASCII
/// characters become \uXXXX escapes, as ComfyUI's json.dumps writes them. Text that does not
/// parse as JSON keeps its ASCII bytes and has the others replaced by '?'.
std::string png_safe_json(const std::string& json_text);

}  // namespace diffgraph::nodes
