/// @file textures.hpp
/// Images shown in the UI (live previews, generated pictures) as GPU textures.
///
/// The UI never talks to OpenGL itself: it asks an ImageTextures cache for a texture by key
/// and content generation, and the cache creates or replaces it through a TextureBackend.
/// The window app plugs in an OpenGL backend; headless tests a backend that only counts, so
/// the same UI code runs with no GPU.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <imgui.h>

namespace diffgraph::editor::ui {

/// Creates and destroys textures from RGBA8 pixels (row-major, no padding).
class TextureBackend {
 public:
  virtual ~TextureBackend() = default;
  virtual ImTextureID create(int width, int height, const std::uint8_t* rgba) = 0;
  virtual void destroy(ImTextureID texture) = 0;
};

/// A backend for windowless runs: hands out distinct fake ids and keeps nothing.
class NullTextureBackend final : public TextureBackend {
 public:
  ImTextureID create(int width, int height, const std::uint8_t* rgba) override;
  void destroy(ImTextureID texture) override;
  int live() const { return live_; }  ///< textures created and not yet destroyed

 private:
  std::uintptr_t next_ = 1;
  int live_ = 0;
};

/// A texture ready to draw.
struct Texture {
  ImTextureID id = nullptr;
  int width = 0, height = 0;
};

/// Textures by key ("preview:<node>", "file:<path>"), each remembering the generation of the
/// content it was made from so an unchanged image is uploaded once.
class ImageTextures {
 public:
  explicit ImageTextures(TextureBackend& backend) : backend_(backend) {}
  ~ImageTextures();
  ImageTextures(const ImageTextures&) = delete;
  ImageTextures& operator=(const ImageTextures&) = delete;

  /// The texture for `key` at `generation`, uploading `rgba` when the key is new or its
  /// generation changed.
  Texture get(const std::string& key, std::uint64_t generation, int width, int height, const std::uint8_t* rgba);
  /// The texture for `key` if one exists (whatever its generation).
  const Texture* find(const std::string& key) const;
  /// The texture of an image file (PNG/JPEG...), loaded once and reloaded when the file's
  /// modification time changes; nullptr when it cannot be read.
  const Texture* file(const std::string& path);
  /// Drops every texture whose key was not used since the previous call (called once a
  /// frame so removed nodes free their previews).
  void collect_unused();
  void clear();

 private:
  struct Entry {
    Texture texture;
    std::uint64_t generation = 0;
    bool used = true;
  };
  TextureBackend& backend_;
  std::map<std::string, Entry> entries_;
};

}  // namespace diffgraph::editor::ui
