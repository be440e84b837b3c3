#include "image_io.hpp"

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>
#include <png.h>

#include <diffgraph/errors.hpp>

// The one stb_image implementation of the plugin. Static, so its symbols never clash with
// another plugin's copy; no stdio, since files are read here (with errors that name them).
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#include <stb_image.h>
#pragma GCC diagnostic pop

namespace diffgraph::nodes {

namespace {

struct StbFree {
  void operator()(void* pixels) const { stbi_image_free(pixels); }
};

[[noreturn]] void decode_failure(const std::string& name) {
  const char* reason = stbi_failure_reason();
  throw NodeError("cannot decode image '" + name + "': " + (reason ? reason : "unknown format or corrupt data"));
}

bool starts_with(std::span<const std::uint8_t> bytes, const char* magic) {
  const std::size_t n = std::strlen(magic);
  return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
}

// The EXIF orientation (1-8) of a JPEG, or 1 when it has none. Reads only IFD0 of the APP1
// "Exif" segment; every offset is bounds-checked, since the bytes come from any file.
int jpeg_exif_orientation(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return 1;
  std::size_t pos = 2;
  while (pos + 4 <= bytes.size()) {
    if (bytes[pos] != 0xFF) return 1;
    const std::uint8_t marker = bytes[pos + 1];
    if (marker == 0xDA || marker == 0xD9) return 1;  // image data starts: no EXIF before it
    const std::size_t length = (std::size_t{bytes[pos + 2]} << 8) | bytes[pos + 3];
    if (length < 2 || pos + 2 + length > bytes.size()) return 1;
    const std::uint8_t* segment = bytes.data() + pos + 4;
    const std::size_t size = length - 2;
    if (marker == 0xE1 && size >= 14 && std::memcmp(segment, "Exif\0\0", 6) == 0) {
      const std::uint8_t* tiff = segment + 6;
      const std::size_t tiff_size = size - 6;
      const bool little = tiff[0] == 'I' && tiff[1] == 'I';
      if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 1;
      auto u16 = [&](std::size_t at) -> std::uint32_t {
        return little ? tiff[at] | (tiff[at + 1] << 8) : (tiff[at] << 8) | tiff[at + 1];
      };
      auto u32 = [&](std::size_t at) -> std::uint32_t { return little ? u16(at) | (u16(at + 2) << 16) : (u16(at) << 16) | u16(at + 2); };
      const std::size_t ifd = u32(4);
      if (ifd + 2 > tiff_size) return 1;
      const std::size_t entries = u16(ifd);
      for (std::size_t i = 0; i < entries; ++i) {
        const std::size_t entry = ifd + 2 + i * 12;
        if (entry + 12 > tiff_size) return 1;
        if (u16(entry) == 0x0112 && u16(entry + 2) == 3) {  // Orientation, SHORT
          const int value = static_cast<int>(u16(entry + 8));
          return value >= 1 && value <= 8 ? value : 1;
        }
      }
      return 1;
    }
    pos += 2 + length;
  }
  return 1;
}

// Turns frames [F, H, W, ...] upright for an EXIF orientation (the transform PIL's
// exif_transpose applies).
torch::Tensor apply_orientation(const torch::Tensor& frames, int orientation) {
  switch (orientation) {
    case 2: return frames.flip({2});
    case 3: return frames.flip({1, 2});
    case 4: return frames.flip({1});
    case 5: return frames.transpose(1, 2);
    case 6: return frames.transpose(1, 2).flip({2});     // rotate 90° clockwise
    case 7: return frames.transpose(1, 2).flip({1, 2});  // transverse
    case 8: return frames.transpose(1, 2).flip({1});     // rotate 90° counter-clockwise
    default: return frames;
  }
}

// Splits interleaved RGBA samples into float RGB [F, H, W, 3] and, when wanted, alpha [F, H, W],
// dividing by the largest sample value (a division, not a multiplication by its inverse, so
// 8-bit values give exactly ComfyUI's `array.astype(float32) / 255`).
template <class Sample>
DecodedImage split_rgba(const Sample* rgba, std::int64_t frames, std::int64_t height, std::int64_t width,
                        bool with_alpha, float full_scale) {
  DecodedImage out;
  out.rgb = torch::empty({frames, height, width, 3}, torch::kFloat);
  float* rgb = out.rgb.data_ptr<float>();
  float* alpha = nullptr;
  if (with_alpha) {
    out.alpha = torch::empty({frames, height, width}, torch::kFloat);
    alpha = out.alpha.data_ptr<float>();
  }
  const std::int64_t pixels = frames * height * width;
  for (std::int64_t i = 0; i < pixels; ++i) {
    rgb[i * 3 + 0] = static_cast<float>(rgba[i * 4 + 0]) / full_scale;
    rgb[i * 3 + 1] = static_cast<float>(rgba[i * 4 + 1]) / full_scale;
    rgb[i * 3 + 2] = static_cast<float>(rgba[i * 4 + 2]) / full_scale;
    if (alpha) alpha[i] = static_cast<float>(rgba[i * 4 + 3]) / full_scale;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& image_file_extensions() {
  static const std::vector<std::string> extensions{".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga",
                                                   ".psd", ".hdr", ".pnm", ".ppm", ".pgm"};
  return extensions;
}

DecodedImage decode_image(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) throw NodeError("cannot decode image '" + name + "': the file is empty");
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw NodeError("cannot decode image '" + name + "': files over 2 GiB are not supported");
  const auto* data = bytes.data();
  const int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(data, length, &width, &height, &channels)) decode_failure(name);
  // Grey + alpha or RGBA: the file carries transparency, which becomes LoadImage's mask.
  const bool has_alpha = channels == 2 || channels == 4;

  DecodedImage out;
  if (starts_with(bytes, "GIF8")) {
    int* delays = nullptr;
    int frames = 0;
    std::unique_ptr<stbi_uc, StbFree> pixels(
        stbi_load_gif_from_memory(data, length, &delays, &width, &height, &frames, &channels, 4));
    stbi_image_free(delays);
    if (!pixels || frames < 1) decode_failure(name);
    out = split_rgba(pixels.get(), frames, height, width, has_alpha, 255.0f);
  } else if (stbi_is_16_bit_from_memory(data, length)) {
    std::unique_ptr<stbi_us, StbFree> pixels(stbi_load_16_from_memory(data, length, &width, &height, &channels, 4));
    if (!pixels) decode_failure(name);
    out = split_rgba(pixels.get(), 1, height, width, has_alpha, 65535.0f);
  } else {
    std::unique_ptr<stbi_uc, StbFree> pixels(stbi_load_from_memory(data, length, &width, &height, &channels, 4));
    if (!pixels) decode_failure(name);
    out = split_rgba(pixels.get(), 1, height, width, has_alpha, 255.0f);
  }

  if (const int orientation = jpeg_exif_orientation(bytes); orientation != 1) {
    out.rgb = apply_orientation(out.rgb, orientation).contiguous();
    if (out.alpha.defined()) out.alpha = apply_orientation(out.alpha, orientation).contiguous();
  }
  return out;
}

DecodedImage read_image_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw NodeError("cannot open image file '" + path.string() + "': " + std::strerror(errno));
  const std::streamoff size = in.tellg();
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(std::max<std::streamoff>(size, 0)));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw NodeError("cannot read image file '" + path.string() + "'");
  return decode_image(bytes, path.string());
}

torch::Tensor image_to_rgb8(const torch::Tensor& image) {
  torch::Tensor scaled = image.to(torch::kCPU, torch::kFloat).clamp(0.0, 1.0);
  scaled.mul_(255.0).round_();
  return scaled.to(torch::kUInt8).contiguous();
}

namespace {

struct PngFailure {
  char message[256] = {};
};

void on_png_error(png_structp png, png_const_charp message) {
  auto* failure = static_cast<PngFailure*>(png_get_error_ptr(png));
  std::snprintf(failure->message, sizeof failure->message, "%s", message);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

// libpng reports errors by longjmp, which skips destructors: this function holds only trivially
// destructible locals, and its callers own everything else.
bool write_png_stream(std::FILE* file, const std::uint8_t* pixels, std::uint32_t width, std::uint32_t height,
                      png_text* texts, int text_count, int compression_level, PngFailure* failure) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, failure, on_png_error, on_png_warning);
  if (!png) {
    std::snprintf(failure->message, sizeof failure->message, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(failure->message, sizeof failure->message, "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_init_io(png, file);
  png_set_compression_level(png, compression_level);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (text_count > 0) png_set_text(png, info, texts, text_count);
  png_write_info(png, info);
  for (std::uint32_t y = 0; y < height; ++y)
    png_write_row(png, const_cast<png_bytep>(pixels + static_cast<std::size_t>(y) * width * 3));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

void write_png(const std::filesystem::path& path, const torch::Tensor& rgb8,
               const std::vector<std::pair<std::string, std::string>>& text, int compression_level) {
  if (rgb8.dim() != 3 || rgb8.size(2) != 3 || rgb8.scalar_type() != torch::kUInt8 || !rgb8.is_contiguous() ||
      !rgb8.device().is_cpu())
    throw NodeError("cannot write '" + path.string() + "': expected contiguous uint8 [H, W, 3] pixels on the CPU");
  if (rgb8.size(0) < 1 || rgb8.size(1) < 1 || rgb8.size(0) > 0x7fffffff || rgb8.size(1) > 0x7fffffff)
    throw NodeError("cannot write '" + path.string() + "': an image of " + std::to_string(rgb8.size(1)) + "x" +
                    std::to_string(rgb8.size(0)) + " pixels cannot be a PNG");
  std::vector<png_text> texts(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i].first.empty() || text[i].first.size() > 79)
      throw NodeError("cannot write '" + path.string() + "': PNG text keyword '" + text[i].first +
                      "' must have 1 to 79 characters");
    texts[i].compression = PNG_TEXT_COMPRESSION_NONE;
    texts[i].key = const_cast<char*>(text[i].first.c_str());
    texts[i].text = const_cast<char*>(text[i].second.c_str());
    texts[i].text_length = text[i].second.size();
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) throw NodeError("cannot create '" + path.string() + "': " + std::strerror(errno));
  PngFailure failure;
  const bool written = write_png_stream(file.get(), rgb8.data_ptr<std::uint8_t>(), static_cast<std::uint32_t>(rgb8.size(1)),
                                        static_cast<std::uint32_t>(rgb8.size(0)), texts.data(),
                                        static_cast<int>(texts.size()), compression_level, &failure);
  if (!written) throw NodeError("cannot write PNG '" + path.string() + "': " + failure.message);
  if (std::fflush(file.get()) != 0 || std::ferror(file.get()))
    throw NodeError("cannot write PNG '" + path.string() + "': " + std::strerror(errno));
  if (std::fclose(file.release()) != 0)
    throw NodeError("cannot write PNG '" + path.string() + "': " + std::strerror(errno));
}

std::string png_safe_json(const std::string& json_text) {
  bool ascii = true;
  for (unsigned char c : json_text) ascii = ascii && c < 0x80;
  if (ascii) return json_text;
  const auto parsed = nlohmann::json::parse(json_text, nullptr, false);
  if (!parsed.is_discarded()) return parsed.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  std::string out = json_text;
  for (char& c : out)
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  return out;
}

}  // namespace diffgraph::nodes
