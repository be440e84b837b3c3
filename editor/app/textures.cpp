// The texture cache for previews and image files (textures.hpp).
#include "textures.hpp"

#include <filesystem>
#include <system_error>

#include <stb_image.h>

namespace diffgraph::editor::ui {

ImTextureID NullTextureBackend::create(int, int, const std::uint8_t*) {
  ++live_;
  return reinterpret_cast<ImTextureID>(next_++);
}

void NullTextureBackend::destroy(ImTextureID) { --live_; }

ImageTextures::~ImageTextures() { clear(); }

Texture ImageTextures::get(const std::string& key, std::uint64_t generation, int width, int height,
                           const std::uint8_t* rgba) {
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.generation == generation && it->second.texture.width == width &&
      it->second.texture.height == height) {
    it->second.used = true;
    return it->second.texture;
  }
  if (it != entries_.end()) backend_.destroy(it->second.texture.id);
  Entry entry;
  entry.texture = {backend_.create(width, height, rgba), width, height};
  entry.generation = generation;
  entries_[key] = entry;
  return entry.texture;
}

const Texture* ImageTextures::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.texture;
}

const Texture* ImageTextures::file(const std::string& path) {
  std::error_code ec;
  const auto modified = std::filesystem::last_write_time(path, ec);
  if (ec) return nullptr;
  const auto generation = static_cast<std::uint64_t>(modified.time_since_epoch().count());
  const std::string key = "file:" + path;
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.generation == generation) {
    it->second.used = true;
    return &it->second.texture;
  }
  int width = 0, height = 0, channels = 0;
  stbi_uc* pixels = stbi_load(path.c_str(), &width, &height, &channels, 4);
  if (!pixels) return nullptr;
  get(key, generation, width, height, pixels);
  stbi_image_free(pixels);
  return &entries_.find(key)->second.texture;
}

void ImageTextures::collect_unused() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.used) {
      backend_.destroy(it->second.texture.id);
      it = entries_.erase(it);
    } else {
      it->second.used = false;
      ++it;
    }
  }
}

void ImageTextures::clear() {
  for (auto& [key, entry] : entries_) backend_.destroy(entry.texture.id);
  entries_.clear();
}

}  // namespace diffgraph::editor::ui
